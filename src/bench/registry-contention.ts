/**
 * Contention micro-benchmark: the lock-free SharedCounterMap against the same kind of open-addressing table in
 * shared memory with every operation under one global Atomics mutex, driven by the same worker threads, op mix and
 * key set in the same run.
 *
 *   node dist/bench/registry-contention.js [--threads 2,4] [--ops 2000000] [--keys 64] [--mix 50/25/25,90/5/5]
 *                                          [--repeat 3] [--json FILE]
 *
 * --ops is per thread; --mix is lookup/increment/decrement percentages. Each cell is the median of --repeat runs;
 * the two implementations alternate which goes first so neither always gets the warmer machine. A worker only
 * decrements keys it holds, so both tables must end equal, which the run checks.
 */
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { KeyCodec, SharedCounterMap } from '../registry/shared-map';
import { seededRandom as prng } from '../random';

type Impl = 'lock-free' | 'mutex';

interface Mix {
  name: string;
  lookup: number;
  increment: number;
}

interface WorkerJob {
  impl: Impl;
  buffer: SharedArrayBuffer;
  control: SharedArrayBuffer;
  keys: string[];
  ops: number;
  mix: Mix;
  seed: number;
}

interface WorkerReport {
  startMs: number;
  endMs: number;
  checksum: number;
}

/** Control words: workers ready, go flag. */
const READY = 0;
const GO = 1;

/**
 * The baseline: linear probing over a SharedArrayBuffer, no removal (the key set is fixed), one mutex around every
 * operation. Inside the lock plain typed-array accesses are enough: the lock's Atomics give the ordering.
 */
class LockedCounterMap {
  private static readonly HEADER = 16;
  private readonly lockWord: Int32Array;
  private readonly meta: Int32Array;
  private readonly keyWords: Int32Array;
  private readonly mask: number;
  private readonly codec = new KeyCodec(64);

  static create(capacity: number): LockedCounterMap {
    let slots = 1;
    while (slots < capacity) slots <<= 1;
    return new LockedCounterMap(new SharedArrayBuffer(4 * (LockedCounterMap.HEADER + slots * 3 + slots * 16)));
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    const slots = (buffer.byteLength / 4 - LockedCounterMap.HEADER) / 19;
    this.mask = slots - 1;
    this.lockWord = new Int32Array(buffer, 0, 1);
    this.meta = new Int32Array(buffer, 4 * LockedCounterMap.HEADER, slots * 3);
    this.keyWords = new Int32Array(buffer, 4 * (LockedCounterMap.HEADER + slots * 3), slots * 16);
  }

  get(key: string): number {
    const len = this.codec.encode(key);
    const h = this.codec.hash(len);
    this.lock();
    try {
      const m = this.find(h, len);
      return m < 0 || this.meta[m] === 0 ? 0 : this.meta[m] - 1;
    } finally {
      this.unlock();
    }
  }

  add(key: string, delta: number): number {
    const len = this.codec.encode(key);
    const h = this.codec.hash(len);
    this.lock();
    try {
      const m = this.find(h, len);
      if (m < 0) throw new Error('locked map full');
      if (this.meta[m] === 0) {
        this.meta[m + 1] = h;
        this.meta[m + 2] = len;
        const base = (m / 3) * 16;
        for (let w = 0; w < (len + 3) >> 2; w++) this.keyWords[base + w] = this.codec.words[w];
        this.meta[m] = 1;
      }
      const n = this.meta[m] - 1 + delta;
      if (n < 0) throw new Error(`locked map underflow on ${key}`);
      this.meta[m] = n + 1;
      return n;
    } finally {
      this.unlock();
    }
  }

  /** The slot holding the key, or the empty slot where it would go; -1 if neither exists. */
  private find(h: number, len: number): number {
    for (let d = 0; d <= this.mask; d++) {
      const m = ((h + d) & this.mask) * 3;
      if (this.meta[m] === 0) return m;
      if (this.meta[m + 1] !== h || this.meta[m + 2] !== len) continue;
      const base = (m / 3) * 16;
      let same = true;
      for (let w = 0; w < (len + 3) >> 2 && same; w++) same = this.keyWords[base + w] === this.codec.words[w];
      if (same) return m;
    }
    return -1;
  }

  /** Drepper's three-state futex mutex (0 free, 1 locked, 2 locked with waiters), after a short spin. */
  private lock(): void {
    const l = this.lockWord;
    for (let i = 0; i < 64; i++) if (Atomics.compareExchange(l, 0, 0, 1) === 0) return;
    let c = Atomics.compareExchange(l, 0, 0, 1);
    if (c === 0) return;
    if (c !== 2) c = Atomics.exchange(l, 0, 2);
    while (c !== 0) {
      Atomics.wait(l, 0, 2);
      c = Atomics.exchange(l, 0, 2);
    }
  }

  private unlock(): void {
    if (Atomics.sub(this.lockWord, 0, 1) !== 1) {
      Atomics.store(this.lockWord, 0, 0);
      Atomics.notify(this.lockWord, 0, 1);
    }
  }
}


const OP_GET = 0;
const OP_INC = 1;
const OP_DEC = 2;

/** Generated before the clock starts so the timed loop is table operations only. */
function plan(job: WorkerJob): { ops: Uint8Array; keys: Uint16Array } {
  const rand = prng(job.seed);
  const ops = new Uint8Array(job.ops);
  const keys = new Uint16Array(job.ops);
  const held = new Int32Array(job.keys.length);
  const heldKeys: number[] = [];
  const lookup = job.mix.lookup / 100;
  const increment = (job.mix.lookup + job.mix.increment) / 100;
  for (let i = 0; i < job.ops; i++) {
    const r = rand();
    let k = Math.floor(rand() * job.keys.length);
    if (r < lookup) ops[i] = OP_GET;
    else if (r < increment || heldKeys.length === 0) {
      ops[i] = OP_INC;
      if (held[k]++ === 0) heldKeys.push(k);
    } else {
      const at = Math.floor(rand() * heldKeys.length);
      k = heldKeys[at];
      ops[i] = OP_DEC;
      if (--held[k] === 0) {
        heldKeys[at] = heldKeys[heldKeys.length - 1];
        heldKeys.pop();
      }
    }
    keys[i] = k;
  }
  return { ops, keys };
}

/** Ops each worker first runs alone on a private table, so the timed run measures optimised code, not the JIT. */
const WARMUP_OPS = 300_000;

function runner(impl: Impl, buffer: SharedArrayBuffer, names: string[]): (ops: Uint8Array, keys: Uint16Array, n: number) => number {
  if (impl === 'lock-free') {
    const map = SharedCounterMap.attach(buffer);
    return (ops, keys, n) => {
      let checksum = 0;
      for (let i = 0; i < n; i++) {
        const key = names[keys[i]];
        const op = ops[i];
        checksum += op === OP_GET ? map.get(key) : op === OP_INC ? map.increment(key) : map.decrement(key);
      }
      return checksum;
    };
  }
  const map = new LockedCounterMap(buffer);
  return (ops, keys, n) => {
    let checksum = 0;
    for (let i = 0; i < n; i++) {
      const key = names[keys[i]];
      const op = ops[i];
      checksum += op === OP_GET ? map.get(key) : map.add(key, op === OP_INC ? 1 : -1);
    }
    return checksum;
  };
}

function runWorker(job: WorkerJob): WorkerReport {
  const { ops, keys } = plan(job);
  // A prefix of the plan is itself a valid plan: it never decrements what it did not increment.
  runner(job.impl, createTable(job.impl, job.keys.length).buffer, job.keys)(ops, keys, Math.min(WARMUP_OPS, ops.length));
  const run = runner(job.impl, job.buffer, job.keys);
  const control = new Int32Array(job.control);
  Atomics.add(control, READY, 1);
  Atomics.notify(control, READY);
  Atomics.wait(control, GO, 0);
  const startMs = performance.timeOrigin + performance.now();
  const checksum = run(ops, keys, ops.length);
  return { startMs, endMs: performance.timeOrigin + performance.now(), checksum };
}

interface Options {
  threads: number[];
  ops: number;
  keys: number;
  mixes: Mix[];
  repeat: number;
  json?: string;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    threads: [2, 4],
    ops: 2_000_000,
    keys: 64,
    mixes: [parseMix('50/25/25'), parseMix('90/5/5')],
    repeat: 3,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`missing value for ${argv[i]}`);
    switch (argv[i]) {
      case '--threads':
        opts.threads = value.split(',').map((s) => positiveInt(s, '--threads'));
        break;
      case '--ops':
        opts.ops = positiveInt(value, '--ops');
        break;
      case '--keys':
        opts.keys = positiveInt(value, '--keys');
        break;
      case '--mix':
        opts.mixes = value.split(',').map(parseMix);
        break;
      case '--repeat':
        opts.repeat = positiveInt(value, '--repeat');
        break;
      case '--json':
        opts.json = value;
        break;
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return opts;
}

function positiveInt(s: string, what: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} wants a positive integer, got ${s}`);
  return n;
}

function parseMix(s: string): Mix {
  const parts = s.split('/').map(Number);
  if (parts.length !== 3 || parts.some((p) => !Number.isInteger(p) || p < 0) || parts[0] + parts[1] + parts[2] !== 100) {
    throw new Error(`--mix wants lookup/increment/decrement percentages adding up to 100, got ${s}`);
  }
  return { name: s, lookup: parts[0], increment: parts[1] };
}

function createTable(impl: Impl, keys: number): { buffer: SharedArrayBuffer; read: (key: string) => number } {
  if (impl === 'lock-free') {
    const map = SharedCounterMap.create({ capacity: 4 * keys });
    return { buffer: map.buffer, read: (k) => map.get(k) };
  }
  const map = LockedCounterMap.create(4 * keys);
  return { buffer: map.buffer, read: (k) => map.get(k) };
}

async function measure(
  impl: Impl,
  threads: number,
  opts: Options,
  mix: Mix,
  keys: string[],
): Promise<{ opsPerSec: number; final: number[] }> {
  const table = createTable(impl, keys.length);
  const control = new SharedArrayBuffer(8);
  const words = new Int32Array(control);
  const workers: Worker[] = [];
  try {
    const reports = Array.from({ length: threads }, (_, t) => {
      const job: WorkerJob = { impl, buffer: table.buffer, control, keys, ops: opts.ops, mix, seed: 1 + t };
      const worker = new Worker(__filename, { workerData: job });
      workers.push(worker);
      return new Promise<WorkerReport>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    });
    while (Atomics.load(words, READY) < threads) await new Promise((r) => setTimeout(r, 5));
    Atomics.store(words, GO, 1);
    Atomics.notify(words, GO);
    const done = await Promise.all(reports);
    const ms = Math.max(...done.map((r) => r.endMs)) - Math.min(...done.map((r) => r.startMs));
    return { opsPerSec: (threads * opts.ops * 1000) / ms, final: keys.map(table.read) };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const keys = Array.from({ length: opts.keys }, (_, i) => `bin+lz4/SYM${i}-USD`);
  const rows: { mix: string; threads: number; lockFree: number[]; mutex: number[] }[] = [];
  for (const mix of opts.mixes) {
    for (const threads of opts.threads) {
      const row = { mix: mix.name, threads, lockFree: [] as number[], mutex: [] as number[] };
      for (let r = 0; r < opts.repeat; r++) {
        const order: Impl[] = r % 2 === 0 ? ['lock-free', 'mutex'] : ['mutex', 'lock-free'];
        const finals: Partial<Record<Impl, number[]>> = {};
        for (const impl of order) {
          const { opsPerSec, final } = await measure(impl, threads, opts, mix, keys);
          (impl === 'lock-free' ? row.lockFree : row.mutex).push(opsPerSec);
          finals[impl] = final;
        }
        if (JSON.stringify(finals['lock-free']) !== JSON.stringify(finals.mutex)) {
          throw new Error(`final counts differ between implementations (mix ${mix.name}, ${threads} threads)`);
        }
      }
      rows.push(row);
    }
  }

  const cpus = os.cpus();
  console.log(
    `registry contention: ${opts.ops.toLocaleString('en-US')} ops per thread, ${opts.keys} keys, median of ` +
      `${opts.repeat}; node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}\n`,
  );
  console.log('| mix (lookup/inc/dec %) | threads | lock-free ops/s | mutex ops/s | lock-free ÷ mutex |');
  console.log('|---|---:|---:|---:|---:|');
  for (const row of rows) {
    const lf = median(row.lockFree);
    const mx = median(row.mutex);
    console.log(`| ${row.mix} | ${row.threads} | ${fmt(lf)} | ${fmt(mx)} | ${(lf / mx).toFixed(2)}× |`);
  }
  if (opts.json) {
    const out = {
      node: process.version,
      cpus: cpus.length,
      cpuModel: cpus[0]?.model,
      opsPerThread: opts.ops,
      keys: opts.keys,
      repeat: opts.repeat,
      results: rows.map((r) => ({
        mix: r.mix,
        threads: r.threads,
        lockFreeOpsPerSec: r.lockFree,
        mutexOpsPerSec: r.mutex,
        lockFreeMedian: median(r.lockFree),
        mutexMedian: median(r.mutex),
      })),
    };
    writeFileSync(opts.json, JSON.stringify(out, null, 2) + '\n');
  }
}

if (isMainThread) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
} else {
  parentPort?.postMessage(runWorker(workerData as WorkerJob));
}
