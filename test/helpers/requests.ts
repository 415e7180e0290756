/** The RequestError parseRequest throws for `text`; fails the test when it throws none. */
import { parseRequest, RequestError } from '../../src/protocol/requests';

export function errorOf(text: string, max = 1000): RequestError {
  try {
    parseRequest(text, max);
  } catch (err) {
    if (err instanceof RequestError) return err;
    throw err;
  }
  throw new Error(`no error for ${text}`);
}
