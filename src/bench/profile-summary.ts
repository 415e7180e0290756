/**
 * Where a gateway thread's CPU goes, from the V8 CPU profiles `BENCH_PROFILE_DIR=dir make bench` (or `node
 * --cpu-prof`) writes: self time of every sampled frame, put in the bucket of the innermost frame on its stack that
 * one of the rules below claims (so the hand-off's structured clone counts as hand-off, not as "native").
 *
 *   node dist/bench/profile-summary.js dir/CPU.*.cpuprofile
 *
 * Start-up (module loading) is left out: it is paid once, not per read.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** First match wins, tested from the innermost frame outwards. */
const BUCKETS: [string, (f: CallFrame) => boolean][] = [
  ['start-up (excluded)', (f) => f.url.includes('cjs/loader') || f.url.includes('bootstrap/realm')],
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['metrics (prom-client)', (f) => f.url.includes('prom-client') || f.url.includes('/metrics/')],
  ['thread hand-off (postMessage, MessagePort)', (f) => f.functionName === 'postMessage' || f.url.includes('messageport') ||
    f.url.includes('event_target') || f.url.includes('worker-pool') || f.url.includes('pending-replies')],
  ['uWS publish (native fan-out, socket writes)', (f) => f.url.endsWith('server/app.js') && f.functionName === 'publish'],
  ['sessions and requests (server)', (f) => f.url.includes('/server/')],
  ['encoding (src/wire)', (f) => f.url.includes('/wire/')],
  ['registry lookups', (f) => f.url.includes('/registry/')],
  ['ingest: entry parsing, fan-out, history', (f) => f.url.includes('/ingest/') && !f.url.endsWith('reader.js') && !f.url.endsWith('ack-batcher.js')],
  ['Redis client (node-redis: commands, RESP parsing, socket I/O)', (f) => f.url.includes('@redis') || f.url.includes('/redis/') ||
    f.url.endsWith('dist/redis.js') || f.url.endsWith('reader.js') || f.url.endsWith('ack-batcher.js') || f.url.includes('string_decoder') ||
    f.url.includes('stream_base_commons') || f.url.includes('streams/') || f.url.endsWith('node:net')],
  ['timers and promises', (f) => f.url.includes('timers') || f.url.includes('task_queues') || f.functionName === 'runMicrotasks'],
];

export interface ProfileBreakdown {
  file: string;
  /** Sampled busy time (idle and start-up excluded), ms. */
  busyMs: number;
  /** Share of busyMs per bucket, in %, largest first. */
  shares: [string, number][];
}

export function breakdown(file: string): ProfileBreakdown {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const totals = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    let bucket = 'other (native, V8, Node)';
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const found = BUCKETS.find(([, match]) => match(byId.get(at!)!.callFrame));
      if (found) {
        bucket = found[0];
        break;
      }
    }
    totals.set(bucket, (totals.get(bucket) ?? 0) + us);
  }
  totals.delete('start-up (excluded)');
  const busy = [...totals.values()].reduce((a, b) => a + b, 0);
  return {
    file: basename(file),
    busyMs: busy / 1000,
    shares: [...totals].map(([k, us]): [string, number] => [k, (100 * us) / busy]).sort((a, b) => b[1] - a[1]),
  };
}

if (require.main === module) {
  for (const file of process.argv.slice(2)) {
    const b = breakdown(file);
    process.stdout.write(`${b.file}: ${b.busyMs.toFixed(0)} ms sampled\n`);
    for (const [bucket, pct] of b.shares) process.stdout.write(`  ${pct.toFixed(1).padStart(5)}%  ${bucket}\n`);
  }
}
