/**
 * Memory per idle connection: RSS of the system (all threads) before and after opening N connections that each
 * subscribe to one symbol and then receive nothing, divided by N.
 *
 * The target count is capped by the server's open-files limit (each connection is a descriptor there), and the
 * clients are spread over load-generator processes (each has the same limit) and over 127.0.0.x source addresses
 * (each address has its own ~28k ephemeral ports). A cap is reported, never hidden.
 */
import { symbolNames } from '../producer/random-walk';
import { ClientSpec } from './clients';
import { Helper, startLoadgen } from './helpers';
import { OpenResult } from './loadgen-worker';
import { openFilesLimit, rssBytes } from './proc-stats';
import { RunningSystem } from './systems';

const CLIENTS_PER_LOADGEN = 16_000;
const CLIENTS_PER_SOURCE_ADDRESS = 10_000;
/** Descriptors the server needs besides client sockets (listen socket, Redis, pipes, libuv). */
const SERVER_FD_HEADROOM = 256;
const SETTLE_MS = 1500;

export interface IdleMemoryResult {
  target: number;
  attempted: number;
  opened: number;
  failed: number;
  firstError?: string;
  cappedBy?: string;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  bytesPerConnection: number;
  openSeconds: number;
}

export async function measureIdleMemory(system: RunningSystem, target: number, threads: number, cpus: string | undefined): Promise<IdleMemoryResult> {
  const fdLimit = openFilesLimit(system.pid);
  const attempted = Math.min(target, fdLimit - SERVER_FD_HEADROOM);
  const names = symbolNames(100);
  const loadgens: Helper[] = Array.from({ length: Math.ceil(attempted / CLIENTS_PER_LOADGEN) }, () =>
    startLoadgen(system.spec.protocol, system.base, threads, cpus));
  try {
    await settle();
    const rssBefore = rssBytes(system.pid);
    const started = performance.now();
    const results = await Promise.all(loadgens.map((lg, g) => {
      const clients: ClientSpec[] = [];
      for (let i = g; i < attempted; i += loadgens.length) {
        clients.push({ symbols: [names[i % names.length]], format: 'json', localAddress: `127.0.0.${1 + Math.floor(i / CLIENTS_PER_SOURCE_ADDRESS)}` });
      }
      return lg.rpc.call<OpenResult>('open', { clients, concurrency: 128 });
    }));
    const openSeconds = (performance.now() - started) / 1000;
    await settle();
    const rssAfter = rssBytes(system.pid);
    const opened = results.reduce((n, r) => n + r.opened, 0);
    await Promise.all(loadgens.map((lg) => lg.rpc.call('closeAll')));
    return {
      target, attempted, opened,
      failed: results.reduce((n, r) => n + r.failed, 0),
      firstError: results.find((r) => r.firstError)?.firstError,
      cappedBy: attempted < target ? `the server's open-files limit, ${fdLimit} (raised to the hard limit; going higher needs CAP_SYS_RESOURCE)` : undefined,
      rssBeforeMiB: rssBefore / 2 ** 20,
      rssAfterMiB: rssAfter / 2 ** 20,
      bytesPerConnection: opened > 0 ? (rssAfter - rssBefore) / opened : NaN,
      openSeconds,
    };
  } finally {
    await Promise.all(loadgens.map((lg) => lg.stop()));
    // Let the server process the closes before anything else is measured on it.
    await settle();
  }
}

function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, SETTLE_MS));
}
