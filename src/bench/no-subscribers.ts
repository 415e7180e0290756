/**
 * The cost of ingest alone: a system with no client connected while the producer writes `rate` ticks/s. What its
 * process spends then is reading (and, for tickgate and the peers, acknowledging) the stream with nothing to
 * deliver. An idle window just before, with nothing produced, gives the CPU it spends regardless.
 */
import { ProduceResult } from './bench-producer';
import { Helper } from './helpers';
import { gatewayCounters } from './prom';
import { cpuPercent, readCpu } from './proc-stats';
import { produceRequest } from './step';
import { RunningSystem } from './systems';

/** After the producer's last XADD, time for the system to read the tail, inside the measured window. */
const TAIL_MS = 250;
/** The idle window: half the step, at most a second (schedstat resolves far less). */
const IDLE_WINDOW_MAX_MS = 1000;

export interface NoSubscribersResult {
  rate: number;
  producedRate: number;
  sent: number;
  /** Ticks tickgate counted as read (/metrics); the peers have no counters and read everything sent. */
  read?: number;
  windowS: number;
  serverCpuSeconds: number;
  serverCpuPct: number;
  /** CPU % of the same process over the idle window before, nothing produced. */
  idleCpuPct: number;
  /** Server CPU µs per ingested tick over the window, idle CPU included. */
  usPerTick: number;
  /** The same, less what the idle CPU % would have cost over the window. */
  usPerTickAboveIdle: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function measureNoSubscribers(
  system: RunningSystem, producer: Helper, stream: string, symbols: number, rate: number, seconds: number,
): Promise<NoSubscribersResult> {
  const pids = { server: system.pid };
  const idleStart = readCpu(pids);
  await sleep(Math.min(IDLE_WINDOW_MAX_MS, (seconds * 1000) / 2));
  const idleCpuPct = cpuPercent(idleStart, readCpu(pids)).server;
  // Scraped outside the window: a scrape is the gateway's CPU too.
  const before = system.spec.hasMetrics ? await gatewayCounters(system.http) : undefined;
  const start = readCpu(pids);
  const produced = await producer.rpc.call<ProduceResult>('produce', produceRequest(stream, rate, seconds, symbols));
  await sleep(TAIL_MS);
  const end = readCpu(pids);
  const read = before && (await gatewayCounters(system.http)).read - before.read;
  const windowS = (end.at - start.at) / 1000;
  const serverCpuSeconds = end.seconds.server - start.seconds.server;
  const ingested = read ?? produced.sent;
  return {
    rate, producedRate: produced.achievedRate, sent: produced.sent, read, windowS, serverCpuSeconds,
    serverCpuPct: (100 * serverCpuSeconds) / windowS,
    idleCpuPct,
    usPerTick: (1e6 * serverCpuSeconds) / ingested,
    usPerTickAboveIdle: (1e6 * (serverCpuSeconds - (idleCpuPct / 100) * windowS)) / ingested,
  };
}
