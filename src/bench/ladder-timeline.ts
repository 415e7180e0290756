/**
 * What the gateway says about its slow consumers while a window runs: /metrics sampled at a fixed period (the same
 * in every window, since a scrape costs the gateway some work and must hit baseline and stalled windows alike),
 * turned into the ladder's path: when the stalled client was conflated, put on snapshots only, closed with 4001.
 * Times are seconds after the client stopped reading, to the sampling period's resolution.
 */
import { metricSum, scrapeMetrics } from './prom';

const MODES = ['full', 'conflated', 'snapshot-only'] as const;
type LadderMode = (typeof MODES)[number];

interface Sample {
  atMs: number;
  modes: Record<LadderMode, number>;
  slowDisconnects: number;
  backpressured: number;
  openByWorker: number[];
}

export interface LadderPath {
  /** Mode changes during the window, by the mode entered. */
  modeChanges: Record<LadderMode, number>;
  /** First sample (s after the stall) that showed each step; undefined: not seen. */
  conflatedAtS?: number;
  snapshotOnlyAtS?: number;
  backToFullAtS?: number;
  closed4001AtS?: number;
  slowDisconnects: number;
  /** Most sockets over --backpressure-soft-limit in any sample. */
  backpressuredMax: number;
  /** The worker thread that held the stalled client, and how many healthy clients it served meanwhile. */
  stalledWorker?: number;
  healthyOnStalledWorker?: number;
}

/** tickgate_connections_open per worker thread. */
export async function connectionsByWorker(http: string): Promise<number[]> {
  return workerCounts(await scrapeMetrics(http));
}

function workerCounts(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(/^tickgate_connections_open\{worker="(\d+)"[,}].* (\S+)$/gm)) out[Number(m[1])] = Number(m[2]);
  return out;
}

async function sample(http: string, atMs: number): Promise<Sample> {
  const text = await scrapeMetrics(http);
  const modes = Object.fromEntries(MODES.map((m) => [m, metricSum(text, 'tickgate_mode_changes_total', { mode: m })])) as Record<LadderMode, number>;
  return {
    atMs, modes, slowDisconnects: metricSum(text, 'tickgate_slow_consumer_disconnects_total'),
    backpressured: metricSum(text, 'tickgate_backpressured_sockets'), openByWorker: workerCounts(text),
  };
}

export class LadderTimeline {
  private readonly samples: Sample[] = [];
  private readonly started = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private failure: unknown;
  private stalledAtMs: number | undefined;

  /** `healthyByWorker`: connections per worker before the window, when only the healthy clients were connected. */
  constructor(private readonly http: string, private readonly periodMs: number, private readonly healthyByWorker: number[]) {}

  async start(): Promise<void> {
    await this.take();
    this.timer = setInterval(() => (this.inFlight = this.take().catch((err: unknown) => void (this.failure ??= err))), this.periodMs);
  }

  /** Stops sampling; a failed window ends here, without a path. */
  halt(): void {
    clearInterval(this.timer);
  }

  /** Time zero of the path. Baseline windows mark the same moment, with no client stalling. */
  markStall(): void {
    this.stalledAtMs = performance.now() - this.started;
  }

  async stop(): Promise<LadderPath> {
    this.halt();
    await this.inFlight;
    if (this.failure !== undefined) throw this.failure;
    await this.take();
    return this.path();
  }

  private async take(): Promise<void> {
    this.samples.push(await sample(this.http, performance.now() - this.started));
  }

  private path(): LadderPath {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const zero = this.stalledAtMs ?? first.atMs;
    const firstWhen = (moved: (s: Sample) => boolean) => {
      const s = this.samples.find(moved);
      return s && Math.round((s.atMs - zero) / 100) / 10;
    };
    const atStall = [...this.samples].reverse().find((s) => s.atMs <= zero) ?? first;
    const stalledWorker = atStall.openByWorker.findIndex((n, w) => n > (this.healthyByWorker[w] ?? 0));
    return {
      modeChanges: Object.fromEntries(MODES.map((m) => [m, last.modes[m] - first.modes[m]])) as Record<LadderMode, number>,
      conflatedAtS: firstWhen((s) => s.modes.conflated > first.modes.conflated),
      snapshotOnlyAtS: firstWhen((s) => s.modes['snapshot-only'] > first.modes['snapshot-only']),
      backToFullAtS: firstWhen((s) => s.modes.full > first.modes.full),
      closed4001AtS: firstWhen((s) => s.slowDisconnects > first.slowDisconnects),
      slowDisconnects: last.slowDisconnects - first.slowDisconnects,
      backpressuredMax: Math.max(...this.samples.map((s) => s.backpressured)),
      stalledWorker: stalledWorker < 0 ? undefined : stalledWorker,
      healthyOnStalledWorker: stalledWorker < 0 ? undefined : this.healthyByWorker[stalledWorker],
    };
  }
}
