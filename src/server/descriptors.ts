/**
 * Keeps a worker from running its process out of file descriptors.
 *
 * uSockets ignores a failed accept() ("Todo: start timer here" in its loop.c): at EMFILE the pending connection
 * stays in the backlog, the listen socket stays readable, and the level-triggered poll calls accept again at once,
 * forever. That spun the worker threads (130–146% CPU, measured), and nothing new (`/healthz` included) answered
 * until descriptors came back. So tickgate never lets accept reach the limit. Against the soft RLIMIT_NOFILE, with a reserve R:
 *
 * - at limit − 2R open descriptors, WebSocket upgrades are refused (HTTP 503): what is left is for short requests,
 *   `/healthz`, `/readyz` and `/metrics` among them, which give their descriptor back at once. Between two counts
 *   each worker admits at most its share (1/workers) of the descriptors left below limit − 2R, so clients faster
 *   than the counting cannot overshoot;
 * - at limit − R (the reserve eaten by connections that never send a request), the worker closes its listen socket:
 *   the port refuses new connections, connections already open are still served;
 * - it listens again (SO_REUSEPORT, same port) once descriptors are back under limit − 2R, no sooner than a backoff
 *   that doubles while pauses keep following resumes.
 *
 * The process's descriptors are counted asynchronously, as often as the headroom requires: a count lists
 * /proc/self/fd, which costs about 1 ms of CPU per 1,000 descriptors (measured: 9–10 ms at 10,000).
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '../log';
import { onceEvery } from '../log';
import type { Metrics } from '../metrics/metrics';

/** Descriptors kept back from the limit: 1/16 of it, at least 16, at most 1,024. */
export function reserveFor(limit: number): number {
  return Math.max(16, Math.min(1024, Math.floor(limit / 16)));
}

/** The soft RLIMIT_NOFILE from /proc/self/limits; undefined when unlimited or not on Linux. */
export function descriptorLimit(limitsText: string): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(limitsText);
  return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
}

export type AcceptState = 'accepting' | 'refusing-upgrades' | 'paused';

/** What `open` descriptors call for; a paused worker stays paused until it is back under limit − 2R. */
export function acceptState(open: number, limit: number, reserve: number, paused: boolean): AcceptState {
  if (open >= limit - reserve || (paused && open >= limit - 2 * reserve)) return 'paused';
  return open >= limit - 2 * reserve ? 'refusing-upgrades' : 'accepting';
}

/**
 * The next count in as long as a fast client takes to open the descriptors left before the pause (at an assumed
 * 10,000 a second), at most 5 s; but no sooner than `countFloorMs`.
 */
export function nextCheckMs(open: number, limit: number, reserve: number): number {
  return Math.max(countFloorMs(open), Math.min(5000, ((limit - reserve - open) * 1000) / ASSUMED_OPEN_RATE));
}

/** Counting n descriptors takes about n / 1,000 ms: counts at least ten times that apart (≤ 10% of a thread), and 20 ms. */
export function countFloorMs(open: number): number {
  return Math.max(20, open / 100);
}

const ASSUMED_OPEN_RATE = 10_000;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;
/** A pause this soon after a resume doubles the backoff; a later one starts it over. */
const BACKOFF_RESET_MS = 10_000;

/** The worker's listen socket, as the guard pauses and resumes it. */
export interface Listener {
  pauseAccept(): void;
  /** False if the socket could not be opened again (the guard retries). */
  resumeAccept(): boolean;
}

export interface DescriptorGuardDeps {
  listener: Listener;
  metrics: Metrics;
  log: Logger;
  limit: number;
  /** Worker threads sharing the process's descriptors. */
  workers: number;
  countOpen(): Promise<number>;
}

export class DescriptorGuard {
  private state: AcceptState = 'accepting';
  /** The last count, and the upgrades this worker admitted since. */
  private open = 0;
  private admitted = 0;
  private readonly reserve: number;
  private backoffMs = BACKOFF_MIN_MS;
  private pausedAt = 0;
  private resumedAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly logEvery = onceEvery(10_000);

  constructor(private readonly deps: DescriptorGuardDeps) {
    this.reserve = reserveFor(deps.limit);
  }

  /** For a process on Linux with a finite limit; undefined otherwise (nothing to guard against, or no way to count). */
  static forThisProcess(deps: Omit<DescriptorGuardDeps, 'limit'>): DescriptorGuard | undefined {
    let text: string;
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined; // not Linux: no /proc to count descriptors with
    }
    const limit = descriptorLimit(text);
    return limit === undefined ? undefined : new DescriptorGuard({ ...deps, limit });
  }

  /** Counts one more WebSocket connection against this worker's share; false (refuse it) near the limit. */
  admitUpgrade(): boolean {
    if (this.state !== 'accepting') return false;
    if (this.open + (this.admitted + 1) * this.deps.workers >= this.deps.limit - 2 * this.reserve) return false;
    this.admitted++;
    return true;
  }

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check(), ms);
    this.timer.unref();
  }

  /** One count, the state change it calls for, and the next count. */
  private async check(): Promise<void> {
    let open: number;
    try {
      open = await this.deps.countOpen();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Listing /proc/self/fd needs a descriptor itself: failing for want of one is the answer.
      if (code === 'EMFILE' || code === 'ENFILE') {
        open = this.deps.limit;
      } else {
        this.logEvery('count', (suppressed) => this.deps.log.error({ err: (err as Error).message, suppressed }, 'cannot count open descriptors'));
        this.schedule(BACKOFF_MAX_MS);
        return;
      }
    }
    if (this.stopped) return;
    this.schedule(this.apply(open, Date.now()));
  }

  /** Acts on a count of `open` descriptors taken at `now`; returns when to count next (ms). */
  apply(open: number, now: number): number {
    const { limit } = this.deps;
    this.open = open;
    this.admitted = 0;
    const next = acceptState(open, limit, this.reserve, this.state === 'paused');
    if (next === 'paused' && this.state !== 'paused') this.pause(open, now);
    else if (this.state === 'paused' && next !== 'paused' && now - this.pausedAt >= this.backoffMs) this.resume(open, now, next);
    else if (this.state !== 'paused') this.changeState(next, open);
    return this.state === 'paused' ? Math.max(BACKOFF_MIN_MS, countFloorMs(open)) : nextCheckMs(open, limit, this.reserve);
  }

  private pause(open: number, now: number): void {
    this.backoffMs = now - this.resumedAt < BACKOFF_RESET_MS ? Math.min(BACKOFF_MAX_MS, this.backoffMs * 2) : BACKOFF_MIN_MS;
    this.deps.listener.pauseAccept();
    this.state = 'paused';
    this.pausedAt = now;
    this.deps.metrics.acceptPaused.set(1);
    this.deps.metrics.acceptPauses.inc();
    this.logEvery('pause', (suppressed) => this.deps.log.warn({ open, limit: this.deps.limit, reserve: this.reserve,
      retryAfterMs: this.backoffMs, suppressed }, 'descriptors near the limit: accept paused (listen socket closed)'));
  }

  private resume(open: number, now: number, next: AcceptState): void {
    if (!this.deps.listener.resumeAccept()) {
      this.pausedAt = now;
      this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
      this.logEvery('relisten', (suppressed) => this.deps.log.warn({ open, retryAfterMs: this.backoffMs, suppressed },
        'cannot listen again yet; retrying'));
      return;
    }
    this.state = next;
    this.resumedAt = now;
    this.deps.metrics.acceptPaused.set(0);
    this.logEvery('resume', (suppressed) => this.deps.log.info({ open, limit: this.deps.limit, suppressed }, 'descriptors back: accept resumed'));
  }

  private changeState(next: AcceptState, open: number): void {
    if (next === this.state) return;
    this.state = next;
    if (next === 'refusing-upgrades') {
      this.logEvery('refuse', (suppressed) => this.deps.log.warn({ open, limit: this.deps.limit, reserve: this.reserve, suppressed },
        'descriptors near the limit: refusing WebSocket upgrades (503)'));
    }
  }
}
