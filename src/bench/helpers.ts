/**
 * The orchestrator's handles on its helper processes (the bench producer and load generators): a child process
 * with an IPC channel, driven by RPC, stopped by closing the channel (each helper exits on disconnect).
 */
import { join } from 'node:path';
import { symbolNames } from '../producer/random-walk';
import { ClientSpec, Protocol } from './clients';
import { OpenResult } from './loadgen-worker';
import { childChannel, RpcClient } from './rpc';
import { spawnNode, stopChild } from './children';
import { formatOfClient, symbolsOfClient, Workload } from './workload';

export class SubscribeError extends Error {
  readonly code = 'BENCH_SUBSCRIBE_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'SubscribeError';
  }
}

export interface Helper {
  pid: number;
  rpc: RpcClient;
  stop(): Promise<void>;
}

/** A helper script (`file`: relative to dist/bench) as a child process driven over its IPC channel. */
export function startHelper(file: string, args: string[], cpus: string | undefined): Helper {
  const child = spawnNode(join(__dirname, file), args, { cpus, ipc: true });
  const rpc = new RpcClient(childChannel(child));
  let stderr = '';
  child.stdout!.resume();
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  child.once('exit', (code) => rpc.abandon(`${file} exited (${code}): ${stderr.trim()}`));
  return {
    pid: child.pid!,
    rpc,
    stop: async () => {
      if (child.connected) child.disconnect();
      await stopChild(child, 2000);
    },
  };
}

export function startProducer(redisUrl: string, cpus: string | undefined): Helper {
  return startHelper('bench-producer.js', [redisUrl], cpus);
}

export function startLoadgen(protocol: Protocol, base: string, threads: number, cpus: string | undefined): Helper {
  return startHelper('loadgen.js', [protocol, base, String(threads)], cpus);
}

/** The slow consumer of src/bench/slow-consumer.ts: one client in a process of its own (stalled-client.ts). */
export function startStalledClient(base: string, cpus: string | undefined): Helper {
  return startHelper('stalled-client.js', [base], cpus);
}

/** Opens and subscribes the workload's clients; every one of them must succeed, or the step would be skewed. */
export async function subscribeWorkload(loadgen: Helper, w: Workload): Promise<void> {
  const names = symbolNames(w.symbols);
  const clients: ClientSpec[] = Array.from({ length: w.clients }, (_, c) => ({ symbols: symbolsOfClient(w, c, names), format: formatOfClient(w, c) }));
  const r = await loadgen.rpc.call<OpenResult>('open', { clients, concurrency: 64 });
  if (r.failed > 0) throw new SubscribeError(`${r.failed} of ${w.clients} clients failed to subscribe: ${r.firstError}`);
}
