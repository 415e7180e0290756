/**
 * The load generator: a child process (so its CPU is measured apart from everything else) running W worker
 * threads that share the clients round-robin. run.ts drives it over IPC; it sums the threads' counts and merges
 * their latency histograms.
 *
 * argv: <protocol> <base ws:// URL> <threads>
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { FormatName } from '../wire/formats';
import { ClientSpec, Protocol } from './clients';
import { DeliveryCounts, DeliverySnapshot, mergeSnapshots, sumCounts } from './delivery-stats';
import { OpenRequest, OpenResult, WorkerSetup } from './loadgen-worker';
import { parentProcessChannel, RpcClient, serveRpc, workerChannel } from './rpc';

const [protocol, base, threadArg] = process.argv.slice(2);
const threads = Array.from({ length: Number(threadArg) }, () => {
  const worker = new Worker(join(__dirname, 'loadgen-worker.js'), { workerData: { protocol: protocol as Protocol, base } satisfies WorkerSetup });
  worker.on('error', (err) => {
    process.stderr.write(`load generator thread failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
  return new RpcClient(workerChannel(worker));
});

const all = <T>(cmd: string, arg: (i: number) => unknown = () => null) => Promise.all(threads.map((t, i) => t.call<T>(cmd, arg(i))));

/**
 * Clients are dealt round-robin within each format, so that every thread carries every format: a thread that falls
 * behind then delays all formats alike, instead of passing for a difference between formats.
 */
function threadOfClients(clients: ClientSpec[]): number[] {
  const dealt = new Map<FormatName, number>();
  return clients.map(({ format }) => {
    const n = dealt.get(format) ?? 0;
    dealt.set(format, n + 1);
    return n % threads.length;
  });
}

serveRpc(parentProcessChannel(), {
  open: async (req: OpenRequest): Promise<OpenResult> => {
    const thread = threadOfClients(req.clients);
    const parts = await all<OpenResult>('open', (i) => ({ ...req, clients: req.clients.filter((_, c) => thread[c] === i) }));
    return {
      opened: parts.reduce((n, p) => n + p.opened, 0),
      failed: parts.reduce((n, p) => n + p.failed, 0),
      firstError: parts.find((p) => p.firstError)?.firstError,
    };
  },
  counts: async () => sumCounts(await all<DeliveryCounts>('counts')),
  reset: () => all('reset'),
  snapshot: async (): Promise<DeliverySnapshot> => mergeSnapshots(await all<DeliverySnapshot>('snapshot')),
  closeAll: () => all('closeAll'),
});
process.on('disconnect', () => process.exit(0));
