/**
 * A design question, measured: how should the single reader hand each read's encoded frames to N server
 * worker threads? Same frames, same workers, same run, interleaved:
 *   shared     — one SharedArrayBuffer per read, copied into once, posted to every worker (what tickgate does);
 *   transfer   — per worker, one ArrayBuffer copied into and transferred (zero-copy post, one copy per worker);
 *   clone      — per worker, the frame list itself posted (structured clone copies every frame per worker).
 * Reported: main-thread time per read (the ingest thread is the one that must not slow down) and the round trip
 * until every worker has touched every frame. The alternative of one reader per worker is put in the same units:
 * each worker would repeat the parse and encode the main thread does once (measured here on the same frames).
 *
 *   node dist/bench/handoff.js [--workers 2] [--reads 20000]
 */
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { RandomWalk } from '../producer/random-walk';
import { parseEntry } from '../ingest/parse-entry';
import { encodeFrame } from '../wire/frame-encode';
import { Tick, TickBatch } from '../wire/tick';

type Mode = 'shared' | 'transfer' | 'clone';
interface Message { mode: Mode; seq: number; bytes?: SharedArrayBuffer | ArrayBuffer; ends?: number[]; frames?: Uint8Array[] }

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};

if (!isMainThread) {
  // Stands in for app.publish: reads one byte of every frame, so a frame that was not really delivered costs nothing.
  let sink = 0;
  parentPort!.on('message', (m: Message) => {
    if (m.frames) for (const f of m.frames) sink += f[0];
    else {
      const view = new Uint8Array(m.bytes!);
      let start = 0;
      for (const end of m.ends!) {
        sink += view[start];
        start = end;
      }
    }
    parentPort!.postMessage(m.seq + (sink & 0));
  });
} else {
  void main();
}

/** One read as the fan-out sees it: 512 entries over 100 symbols, one format subscribed (JSON frames). */
function sampleRead(): { entries: [string, string[]][]; frames: Uint8Array[] } {
  const walk = new RandomWalk(100, 3);
  const ms = 1_800_000_000_000;
  const entries = Array.from({ length: 512 }, (_, i) => [`${ms}-${i}`, walk.nextFields(ms)] as [string, string[]]);
  const frames = encodeRead(entries).map((f) => (typeof f === 'string' ? Buffer.from(f) : f));
  return { entries, frames };
}

function encodeRead(entries: [string, string[]][]): (string | Uint8Array)[] {
  const bySym = new Map<string, Tick[]>();
  for (const [id, fields] of entries) {
    const p = parseEntry(id, fields);
    if (typeof p === 'string') continue;
    const list = bySym.get(p.sym);
    if (list) list.push(p.tick);
    else bySym.set(p.sym, [p.tick]);
  }
  const out: (string | Uint8Array)[] = [];
  for (const [sym, ticks] of bySym) out.push(encodeFrame('json', { sym, ticks } as TickBatch, Date.now()));
  return out;
}

async function main(): Promise<void> {
  const N = arg('workers', 2);
  const READS = arg('reads', 20_000);
  const { entries, frames } = sampleRead();
  const total = frames.reduce((n, f) => n + f.byteLength, 0);
  const workers = Array.from({ length: N }, () => new Worker(__filename));
  const pending = new Map<number, { left: number; resolve: () => void }>();
  for (const w of workers) {
    w.on('message', (seq: number) => {
      const p = pending.get(seq)!;
      if (--p.left === 0) {
        pending.delete(seq);
        p.resolve();
      }
    });
  }
  let seq = 0;

  /** Posts one read in `mode`; returns the main thread's time for it and a promise of all acks. */
  const post = (mode: Mode): { mainMs: number; done: Promise<void> } => {
    const t0 = performance.now();
    const s = ++seq;
    const done = new Promise<void>((resolve) => pending.set(s, { left: N, resolve }));
    const ends: number[] = [];
    let at = 0;
    for (const f of frames) ends.push((at += f.byteLength));
    if (mode === 'shared') {
      const sab = new SharedArrayBuffer(total);
      const view = new Uint8Array(sab);
      frames.forEach((f, i) => view.set(f, i === 0 ? 0 : ends[i - 1]));
      for (const w of workers) w.postMessage({ mode, seq: s, bytes: sab, ends } satisfies Message);
    } else if (mode === 'transfer') {
      for (const w of workers) {
        const buf = new ArrayBuffer(total);
        const view = new Uint8Array(buf);
        frames.forEach((f, i) => view.set(f, i === 0 ? 0 : ends[i - 1]));
        w.postMessage({ mode, seq: s, bytes: buf, ends } satisfies Message, [buf]);
      }
    } else {
      for (const w of workers) w.postMessage({ mode, seq: s, frames } satisfies Message);
    }
    return { mainMs: performance.now() - t0, done };
  };

  const modes: Mode[] = ['shared', 'transfer', 'clone'];
  const results: Record<Mode, { mainUs: number[]; rttUs: number[] }> = { shared: { mainUs: [], rttUs: [] }, transfer: { mainUs: [], rttUs: [] }, clone: { mainUs: [], rttUs: [] } };
  // Warm-up, then interleave modes one read at a time so drift on a shared machine hits all alike.
  for (let i = 0; i < 2000; i++) await post(modes[i % 3]).done;
  for (let i = 0; i < READS * 3; i++) {
    const mode = modes[i % 3];
    const t0 = performance.now();
    const { mainMs, done } = post(mode);
    await done;
    results[mode].mainUs.push(mainMs * 1000);
    results[mode].rttUs.push((performance.now() - t0) * 1000);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  // Encoding this read once (what each worker would repeat with one reader per worker), same frames.
  const encodeUs: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t0 = performance.now();
    encodeRead(entries);
    encodeUs.push((performance.now() - t0) * 1000);
  }
  const ticks = entries.length;
  console.log(`hand-off of one read (${ticks} ticks, ${frames.length} JSON frames, ${total} bytes) to ${N} workers, median of ${READS} each:\n`);
  console.log('| option | main-thread µs per read | µs per tick | round trip µs (post → every worker done) |\n| --- | --: | --: | --: |');
  for (const m of modes) {
    const main = median(results[m].mainUs);
    console.log(`| ${m} | ${main.toFixed(1)} | ${(main / ticks).toFixed(3)} | ${median(results[m].rttUs).toFixed(1)} |`);
  }
  const enc = median(encodeUs);
  console.log(`| one reader per worker: parse + encode repeated in each of ${N} workers (plus ${N}× XREADGROUP) | ${enc.toFixed(1)} per worker | ${(enc / ticks).toFixed(3)} | — |`);
  for (const w of workers) await w.terminate();
}
