/** The error `f` throws, for assertions on its class and exact message; fails the test when `f` returns. */
export function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}
