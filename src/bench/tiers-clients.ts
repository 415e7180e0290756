/**
 * The WebSocket clients of src/bench/tiers.ts, in a process of their own (driven over IPC; exits when the
 * orchestrator disconnects). Each client is a plain `ws` socket on the JSON format subscribed to its symbols in one
 * tier; for every tick it receives it records the latency the tier promises to keep small: arrival − `ts` (the
 * producer's clock) for real-time tiers, arrival − `ts` − the delay for the delayed tier. One histogram per tier.
 */
import WebSocket from 'ws';
import type { Histogram } from 'hdr-histogram-js';
import { encodeHistogram, newHistogram } from './latency';
import { parentProcessChannel, serveRpc } from './rpc';

export type BenchTier = 'full' | '4/s' | 'delayed';

export interface ClientSpec {
  tier: BenchTier;
  symbols: string[];
}

export interface OpenRequest {
  url: string;
  clients: ClientSpec[];
  delayMs: number;
}

export interface TierCounts {
  frames: number;
  ticks: number;
  histogram: string;
}

const sockets: WebSocket[] = [];
const histograms = new Map<BenchTier, Histogram>();
const counts = new Map<BenchTier, { frames: number; ticks: number }>();
let recording = false;

const TS = /"ts":(\d+)/g;

function record(tier: BenchTier, text: string, delayMs: number): void {
  if (!recording || !text.startsWith('{"type":"ticks"')) return;
  const now = Date.now();
  const h = histograms.get(tier)!;
  const c = counts.get(tier)!;
  c.frames++;
  const offset = tier === 'delayed' ? delayMs : 0;
  for (const m of text.matchAll(TS)) {
    c.ticks++;
    h.recordValue(Math.max(1, (now - Number(m[1]) - offset) * 1000));
  }
}

function open(req: OpenRequest): Promise<number> {
  return Promise.all(req.clients.map((spec) => new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(req.url);
    ws.once('error', reject);
    ws.once('open', () => {
      const tier = spec.tier === '4/s' ? { maxRate: 4 } : spec.tier === 'delayed' ? { delayed: true } : {};
      ws.send(JSON.stringify({ op: 'subscribe', id: 1, symbols: spec.symbols, ...tier }));
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const text = data.toString();
      if (text.startsWith('{"type":"ack"')) resolve();
      else if (text.startsWith('{"type":"error"')) reject(new Error(text));
      else record(spec.tier, text, req.delayMs);
    });
    sockets.push(ws);
  }))).then(() => sockets.length);
}

function reset(): void {
  for (const tier of ['full', '4/s', 'delayed'] as const) {
    histograms.set(tier, newHistogram());
    counts.set(tier, { frames: 0, ticks: 0 });
  }
}

reset();
serveRpc(parentProcessChannel(), {
  open: (req: OpenRequest) => open(req),
  start: () => {
    reset();
    recording = true;
  },
  stop: (): Record<string, TierCounts> => {
    recording = false;
    const out: Record<string, TierCounts> = {};
    for (const [tier, c] of counts) out[tier] = { ...c, histogram: encodeHistogram(histograms.get(tier)!) };
    return out;
  },
  close: async () => {
    await Promise.all(sockets.splice(0).map((ws) => new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close();
    })));
  },
});
process.on('disconnect', () => process.exit(0));
