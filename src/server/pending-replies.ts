/**
 * Requests posted to other threads, awaiting their answers by id: the bookkeeping both sides of the worker boundary
 * need. A worker asks the main thread for a scrape or a catch-up; the main thread asks every worker to publish a read
 * or to report its metrics, and a worker that exits meanwhile must stop being waited for.
 */
export class PendingReplies<A> {
  private nextId = 1;
  private readonly open = new Map<number, { waiting: Set<number>; answers: A[]; resolve: (answers: A[]) => void }>();

  /**
   * Opens a request: `post` sends it under `id` and returns the threads it went to. Resolves with their answers, in
   * the order they came, once each has answered or been forgotten; undefined when it went to none.
   */
  ask(post: (id: number) => Iterable<number>): Promise<A[]> | undefined {
    const id = this.nextId++;
    const waiting = new Set(post(id));
    if (waiting.size === 0) return undefined;
    return new Promise((resolve) => this.open.set(id, { waiting, answers: [], resolve }));
  }

  /** Thread `from` answers request `id`. An answer to a request dropped or already complete is ignored. */
  answer(id: number, from: number, value: A): void {
    const request = this.open.get(id);
    if (request === undefined || !request.waiting.delete(from)) return;
    request.answers.push(value);
    if (request.waiting.size === 0) this.complete(id);
  }

  /** Thread `from` will never answer (it exited): no request waits for it any longer. */
  forget(from: number): void {
    for (const [id, request] of this.open) if (request.waiting.delete(from) && request.waiting.size === 0) this.complete(id);
  }

  /** Request `id` is no longer wanted: its answer will be ignored, and its promise never settles. */
  drop(id: number): void {
    this.open.delete(id);
  }

  private complete(id: number): void {
    const request = this.open.get(id)!;
    this.open.delete(id);
    request.resolve(request.answers);
  }
}
