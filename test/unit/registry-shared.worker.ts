/**
 * Worker-thread side of the shared registry specs, the seeded operation plan the stress spec replays as its
 * sequential model, and the main-thread helpers that start and steer these workers. Runs as compiled JS, so the
 * path is resolved next to this file whatever the outDir.
 */
import * as path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SharedCounterMap, SharedMapHookEvent } from '../../src/registry/shared-map';
import { SharedRegistry, SharedRegistryBuffers } from '../../src/registry/shared-registry';
import { seededRandom as prng } from '../../src/random';

export const HOOK_EVENTS: readonly SharedMapHookEvent[] = ['candidate', 'claimed', 'published', 'pinned', 'compacting'];

export type StressOp = 'get' | 'increment' | 'decrement';

export interface StressParams {
  seed: number;
  ops: number;
  universe: number;
  /** Distinct keys one worker holds at most, which bounds live keys to workers × maxHeld. */
  maxHeld: number;
}

export type WorkerJob =
  | { kind: 'stress'; buffer: SharedArrayBuffer; params: StressParams }
  | { kind: 'race'; buffer: SharedArrayBuffer; barrier: SharedArrayBuffer; parties: number; keys: string[] }
  | {
      kind: 'script';
      buffer: SharedArrayBuffer;
      control: SharedArrayBuffer;
      index: number;
      pauseAt: SharedMapHookEvent[];
      steps: { op: StressOp; key: string }[];
    }
  | { kind: 'registry'; buffers: SharedRegistryBuffers; sessionId: number; workerId: number; topics: string[] }
  | { kind: 'cycles'; buffer: SharedArrayBuffer; prefix: string; cycles: number; keys: number }
  | { kind: 'reader'; buffer: SharedArrayBuffer; stop: SharedArrayBuffer; held: [string, number][]; absent: string[] };

export interface ReaderReport {
  reads: number;
  violations: number;
  firstViolations: string[];
}

export interface StressReport {
  violations: number;
  firstViolations: string[];
}

/** Non-ASCII members exercise the encodeInto path and multi-byte keys. */
export function stressKey(i: number): string {
  return i % 5 === 0 ? `json/Ünïcødé-${i}` : `bin+lz4/SYM-${i}-USD`;
}


/**
 * Drives one worker's operations. Every choice depends only on the seed and this worker's own holdings, never on
 * what it reads from the map, so replaying it with a no-op `apply` yields the worker's exact net effect. A worker
 * only decrements keys it holds, so counts can never legitimately go negative. Returns per-key net counts.
 */
export function runStressPlan(p: StressParams, apply: (op: StressOp, key: number, held: number) => void): Int32Array {
  const rand = prng(p.seed);
  const held = new Int32Array(p.universe);
  const heldKeys: number[] = [];
  for (let i = 0; i < p.ops; i++) {
    const r = rand();
    if (r < 0.3) {
      const k = Math.floor(rand() * p.universe);
      apply('get', k, held[k]);
    } else if (r < 0.65 || heldKeys.length === 0) {
      const k =
        heldKeys.length < p.maxHeld
          ? Math.floor(rand() * p.universe)
          : heldKeys[Math.floor(rand() * heldKeys.length)];
      apply('increment', k, held[k]);
      if (held[k]++ === 0) heldKeys.push(k);
    } else {
      const at = Math.floor(rand() * heldKeys.length);
      const k = heldKeys[at];
      apply('decrement', k, held[k]);
      if (--held[k] === 0) {
        heldKeys[at] = heldKeys[heldKeys.length - 1];
        heldKeys.pop();
      }
    }
  }
  return held;
}

function stress(buffer: SharedArrayBuffer, params: StressParams): StressReport {
  const map = SharedCounterMap.attach(buffer);
  const keys = Array.from({ length: params.universe }, (_, i) => stressKey(i));
  const report: StressReport = { violations: 0, firstViolations: [] };
  const check = (ok: boolean, what: string): void => {
    if (ok) return;
    report.violations++;
    if (report.firstViolations.length < 5) report.firstViolations.push(what);
  };
  runStressPlan(params, (op, k, held) => {
    const key = keys[k];
    // Other workers only ever add non-negative amounts, so the shared count is at least what this worker holds.
    if (op === 'get') {
      const v = map.get(key);
      check(v >= held, `get(${key}) = ${v}, this worker holds ${held}`);
    } else if (op === 'increment') {
      const v = map.increment(key);
      check(v >= held + 1, `increment(${key}) = ${v}, this worker held ${held}`);
    } else {
      const v = map.decrement(key);
      check(v >= held - 1 && v >= 0, `decrement(${key}) = ${v}, this worker held ${held}`);
    }
  });
  return report;
}

function race(buffer: SharedArrayBuffer, barrier: SharedArrayBuffer, parties: number, keys: string[]): number[] {
  const map = SharedCounterMap.attach(buffer);
  const arrived = new Int32Array(barrier);
  Atomics.add(arrived, 0, 1);
  Atomics.notify(arrived, 0);
  for (let n = Atomics.load(arrived, 0); n < parties; n = Atomics.load(arrived, 0)) Atomics.wait(arrived, 0, n);
  return keys.map((k) => map.increment(k));
}

/**
 * Runs `steps`, stopping at the first occurrence of each event in `pauseAt`: it writes the event's number to
 * control[2 * index] and sleeps until the test writes the same number to control[2 * index + 1].
 */
function script(job: Extract<WorkerJob, { kind: 'script' }>): number[] {
  const control = new Int32Array(job.control);
  const pending = new Set(job.pauseAt);
  const map = SharedCounterMap.attach(job.buffer, {
    onEvent(event) {
      if (!pending.delete(event)) return;
      const code = HOOK_EVENTS.indexOf(event) + 1;
      Atomics.store(control, 2 * job.index, code);
      Atomics.notify(control, 2 * job.index);
      const at = 2 * job.index + 1;
      for (let v = Atomics.load(control, at); v !== code; v = Atomics.load(control, at)) Atomics.wait(control, at, v);
    },
  });
  return job.steps.map(({ op, key }) => (op === 'get' ? map.get(key) : map[op](key)));
}

function registry(job: Extract<WorkerJob, { kind: 'registry' }>) {
  const reg = SharedRegistry.attach(job.buffers);
  reg.openSession(job.sessionId, job.workerId, 1_700_000_000_123);
  for (const t of job.topics) reg.addSubscription(job.sessionId, t);
  return {
    stats: reg.stats(),
    session: reg.session(job.sessionId),
    counts: job.topics.map((t) => reg.subscriberCount(t)),
  };
}

/** Fills the map with `keys` keys new to each cycle, then releases them all: every cycle leaves its slots dead. */
function cycles(job: Extract<WorkerJob, { kind: 'cycles' }>): number {
  const map = SharedCounterMap.attach(job.buffer);
  for (let c = 0; c < job.cycles; c++) {
    const keys = Array.from({ length: job.keys }, (_, i) => `json/${job.prefix}-${c}-${i}`);
    for (const k of keys) map.increment(k);
    for (const k of keys) map.decrement(k);
  }
  return map.probeStats().compactions;
}

/**
 * Reads until `stop` is set: each held key must read exactly its count (nobody changes it meanwhile), each absent
 * key 0, whatever the writers and compactions do to the slots around them.
 */
function reader(job: Extract<WorkerJob, { kind: 'reader' }>): ReaderReport {
  const map = SharedCounterMap.attach(job.buffer);
  const stop = new Int32Array(job.stop);
  const report: ReaderReport = { reads: 0, violations: 0, firstViolations: [] };
  const expectCount = (key: string, want: number) => {
    const got = map.get(key);
    report.reads++;
    if (got === want) return;
    report.violations++;
    if (report.firstViolations.length < 5) report.firstViolations.push(`get(${key}) = ${got}, expected ${want}`);
  };
  while (Atomics.load(stop, 0) === 0) {
    for (const [key, count] of job.held) expectCount(key, count);
    for (const key of job.absent) expectCount(key, 0);
  }
  return report;
}

function run(job: WorkerJob): unknown {
  switch (job.kind) {
    case 'stress':
      return stress(job.buffer, job.params);
    case 'race':
      return race(job.buffer, job.barrier, job.parties, job.keys);
    case 'script':
      return script(job);
    case 'registry':
      return registry(job);
    case 'cycles':
      return cycles(job);
    case 'reader':
      return reader(job);
  }
}

type Outcome = { ok: true; result: unknown } | { ok: false; error: { name: string; code?: string; message: string } };

/** Starts workers on this file and terminates every one of them in `terminateAll`, pass or fail. */
export class TestWorkers {
  private readonly live = new Set<Worker>();

  /** Resolves with the job's result; rejects with the worker's error (name and code kept) or an early exit. */
  start<T>(job: WorkerJob): Promise<T> {
    const worker = new Worker(path.join(__dirname, 'registry-shared.worker.js'), { workerData: job });
    this.live.add(worker);
    return new Promise<T>((resolve, reject) => {
      worker.once('message', (m: Outcome) => {
        if (m.ok) resolve(m.result as T);
        else reject(Object.assign(new Error(m.error.message), m.error));
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)));
    });
  }

  async terminateAll(): Promise<void> {
    const all = [...this.live];
    this.live.clear();
    await Promise.all(all.map((w) => w.terminate()));
  }
}

/** Polls without blocking the event loop, so worker messages and errors still arrive. */
export async function waitUntil(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Main-thread end of the `script` job's pause protocol. */
export class PauseControl {
  readonly buffer = new SharedArrayBuffer(4 * 2 * 8);
  private readonly words = new Int32Array(this.buffer);

  reached(index: number, event: SharedMapHookEvent): Promise<void> {
    const code = HOOK_EVENTS.indexOf(event) + 1;
    return waitUntil(() => Atomics.load(this.words, 2 * index) === code, `worker ${index} to reach ${event}`);
  }

  release(index: number, event: SharedMapHookEvent): void {
    Atomics.store(this.words, 2 * index + 1, HOOK_EVENTS.indexOf(event) + 1);
    Atomics.notify(this.words, 2 * index + 1);
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  try {
    port.postMessage({ ok: true, result: run(workerData as WorkerJob) });
  } catch (err) {
    const e = err as Error & { code?: string };
    port.postMessage({ ok: false, error: { name: e.name, code: e.code, message: e.message } });
  }
}
