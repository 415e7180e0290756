/**
 * One load-generator thread: opens its share of the clients, with a bounded number of handshakes in flight, and
 * counts what they receive. Driven over its port by loadgen.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ClientSpec, OpenClient, openClient, Protocol } from './clients';
import { StatsByFormat } from './delivery-stats';
import { serveRpc, workerChannel } from './rpc';

export interface WorkerSetup {
  protocol: Protocol;
  base: string;
}

export interface OpenRequest {
  clients: ClientSpec[];
  /** Handshakes in flight at once, per thread. */
  concurrency: number;
}

export interface OpenResult {
  opened: number;
  failed: number;
  firstError?: string;
}

const { protocol, base } = workerData as WorkerSetup;
const stats = new StatsByFormat();
const open: OpenClient[] = [];

async function openAll(req: OpenRequest): Promise<OpenResult> {
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const lane = async () => {
    while (next < req.clients.length) {
      const spec = req.clients[next++];
      try {
        open.push(await openClient(protocol, base, spec, stats.of(spec.format)));
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.concurrency, req.clients.length) }, lane));
  return { opened: req.clients.length - failed, failed, firstError };
}

serveRpc(workerChannel(parentPort!), {
  open: openAll,
  counts: () => stats.counts(),
  reset: () => stats.reset(),
  snapshot: () => stats.snapshot(),
  closeAll: () => {
    for (const c of open.splice(0)) c.close();
  },
});
