/**
 * Memory per idle connection: RSS of the system (all threads) before and after opening N connections that each
 * subscribe to one symbol and then receive nothing, divided by N.
 *
 * The target count is capped by the server's open-files limit (each connection is a descriptor there), and the
 * clients are spread over load-generator processes (each has the same limit) and over 127.0.0.x source addresses
 * (each address has its own ~28k ephemeral ports). A cap is reported, never hidden.
 */
import { symbolNames } from '../producer/random-walk';
import { ClientSpec, Protocol } from './clients';
import { Helper, startLoadgen } from './helpers';
import { OpenResult } from './loadgen-worker';
import { openFilesLimit, rssBytes } from './proc-stats';
import { RunningSystem } from './systems';

const CLIENTS_PER_LOADGEN = 16_000;
const CLIENTS_PER_SOURCE_ADDRESS = 10_000;
/** Descriptors the server needs besides client sockets (listen socket, Redis, pipes, libuv). */
const SERVER_FD_HEADROOM = 256;

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

/** Load generators for up to `target` idle clients of the server `pid` at `base`, and a way to open them. */
export class IdleClients {
  readonly attempted: number;
  readonly cappedBy?: string;
  private readonly loadgens: Helper[];

  constructor(protocol: Protocol, base: string, pid: number, readonly target: number, threads: number, cpus: string | undefined) {
    const fdLimit = openFilesLimit(pid);
    this.attempted = Math.min(target, fdLimit - SERVER_FD_HEADROOM);
    if (this.attempted < target) this.cappedBy = `the server's open-files limit, ${fdLimit} (raised to the hard limit; going higher needs CAP_SYS_RESOURCE)`;
    this.loadgens = Array.from({ length: Math.ceil(this.attempted / CLIENTS_PER_LOADGEN) }, () => startLoadgen(protocol, base, threads, cpus));
  }

  /** Opens the clients, each subscribed to one of 100 symbols in JSON. */
  async open(): Promise<OpenResult> {
    const names = symbolNames(100);
    const n = this.loadgens.length;
    const results = await Promise.all(this.loadgens.map((lg, g) => {
      const clients: ClientSpec[] = [];
      for (let i = g; i < this.attempted; i += n) {
        clients.push({ symbols: [names[i % names.length]], format: 'json', localAddress: `127.0.0.${1 + Math.floor(i / CLIENTS_PER_SOURCE_ADDRESS)}` });
      }
      return lg.rpc.call<OpenResult>('open', { clients, concurrency: 128 });
    }));
    return {
      opened: results.reduce((k, r) => k + r.opened, 0),
      failed: results.reduce((k, r) => k + r.failed, 0),
      firstError: results.find((r) => r.firstError)?.firstError,
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.loadgens.map((lg) => lg.rpc.call('closeAll').catch(() => undefined)));
    await Promise.all(this.loadgens.map((lg) => lg.stop()));
  }
}

/** `settleMs`: how long RSS is left to settle before and after opening, and the closes to be processed after. */
export async function measureIdleMemory(
  system: RunningSystem, target: number, threads: number, cpus: string | undefined, settleMs: number,
): Promise<IdleMemoryResult> {
  const settle = () => new Promise<void>((r) => setTimeout(r, settleMs));
  const idle = new IdleClients(system.spec.protocol, system.base, system.pid, target, threads, cpus);
  try {
    await settle();
    const rssBefore = rssBytes(system.pid);
    const started = performance.now();
    const opened = await idle.open();
    const openSeconds = (performance.now() - started) / 1000;
    await settle();
    const rssAfter = rssBytes(system.pid);
    return {
      target, attempted: idle.attempted, ...opened, cappedBy: idle.cappedBy,
      rssBeforeMiB: rssBefore / 2 ** 20,
      rssAfterMiB: rssAfter / 2 ** 20,
      bytesPerConnection: opened.opened > 0 ? (rssAfter - rssBefore) / opened.opened : NaN,
      openSeconds,
    };
  } finally {
    await idle.close();
    // Let the server process the closes before anything else is measured on it.
    await settle();
  }
}
