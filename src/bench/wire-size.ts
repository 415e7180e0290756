/**
 * Wire-size and encode-cost measurement for every data-frame format, plus the evidence for the LZ4 threshold.
 * Prints Markdown (src/bench/README.md, "Wire formats"). Run: `node dist/bench/wire-size.js` after `npm run build`.
 *
 * Sizes are exact and reproducible (seeded ticks); timings depend on the machine and are medians of several rounds.
 * Batches are live frames with `prev` (protocol v1), so the sizes include its cost.
 */
import { compressSync } from 'lz4-napi';
import { pack, Packr } from 'msgpackr';
import { encodeBinaryBatch } from '../wire/binary';
import { ByteWriter } from '../wire/bytes';
import { encodeFrame, LZ4_MIN_BYTES } from '../wire/frame-encode';
import { FormatName } from '../wire/formats';
import { encodeJsonFrame } from '../wire/json';
import { TickBatch } from '../wire/tick';
import { TickProfile, TickSource } from './sample-ticks';

const BATCH_SIZES = [1, 10, 100];
const TICKS_PER_CASE = 20_000;
const SENT = 1732480000123;
const FORMATS: FormatName[] = ['json', 'json+lz4', 'bin', 'bin+lz4'];
const packrRecords = new Packr();

type Encoder = (batch: TickBatch) => string | Uint8Array;

const ENCODERS: [string, Encoder][] = [
  ...FORMATS.map((f): [string, Encoder] => [f, (b) => encodeFrame(f, b, SENT)]),
  ['msgpackr', (b) => pack({ sym: b.sym, sent: SENT, prev: b.prev, ticks: b.ticks })],
  ['msgpackr records', (b) => packrRecords.pack({ sym: b.sym, sent: SENT, prev: b.prev, ticks: b.ticks })],
];

function wireBytes(frame: string | Uint8Array): number {
  return typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
}

/** Live batches as the gateway publishes them: each carries `prev`, the last id of the batch before it. */
function batches(profile: TickProfile, size: number): TickBatch[] {
  const source = new TickSource(42, profile);
  const out: TickBatch[] = [];
  let prev: string | undefined;
  for (let n = 0; n < TICKS_PER_CASE; n += size) {
    const batch = source.batch(size);
    if (prev !== undefined) batch.prev = prev;
    if (batch.ticks.length > 0) prev = batch.ticks[batch.ticks.length - 1].id;
    out.push(batch);
  }
  return out;
}

function bytesPerTick(encode: Encoder, input: TickBatch[]): number {
  let bytes = 0;
  let ticks = 0;
  for (const b of input) {
    bytes += wireBytes(encode(b));
    ticks += b.ticks.length;
  }
  return bytes / ticks;
}

/** Median over rounds of (time to encode every batch) / ticks, in µs. The first round warms the JIT. */
function microsPerTick(encode: Encoder, input: TickBatch[], rounds = 7): number {
  const ticks = input.reduce((n, b) => n + b.ticks.length, 0);
  const samples: number[] = [];
  for (let r = 0; r <= rounds; r++) {
    const start = process.hrtime.bigint();
    for (const b of input) encode(b);
    const elapsed = Number(process.hrtime.bigint() - start) / 1000;
    if (r > 0) samples.push(elapsed / ticks);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function formatTables(profile: TickProfile): string {
  const sizeRows: (string | number)[][] = [];
  const timeRows: (string | number)[][] = [];
  for (const size of BATCH_SIZES) {
    const input = batches(profile, size);
    const sizes = ENCODERS.map(([, e]) => bytesPerTick(e, input));
    const best = Math.min(sizes[2], sizes[3]);
    sizeRows.push([size, ...sizes.map((s) => s.toFixed(1)), `${((100 * best) / sizes[0]).toFixed(1)}%`]);
    timeRows.push([size, ...ENCODERS.map(([, e]) => microsPerTick(e, input).toFixed(3))]);
  }
  const names = ENCODERS.map(([n]) => n);
  return [
    `### Bytes per tick on the wire, '${profile}' ticks`,
    '',
    table(['batch', ...names, 'best bin / json'], sizeRows),
    '',
    `### Encode (+ compress) time per tick, µs, '${profile}' ticks`,
    '',
    table(['batch', ...names], timeRows),
  ].join('\n');
}

/**
 * The LZ4 threshold evidence: for payloads of growing size, what LZ4 saves and what it costs, per encoding. The
 * threshold is the payload size above which compression reliably pays.
 */
function thresholdTable(): string {
  const rows: (string | number)[][] = [];
  const writer = new ByteWriter();
  const cases: ['bin' | 'json', number[]][] = [
    ['json', [1, 2, 4, 8]],
    ['bin', [1, 4, 16, 32, 48, 64, 128, 256]],
  ];
  for (const [encoding, sizes] of cases) {
    for (const profile of ['trade', 'quote'] as TickProfile[]) {
      for (const size of sizes) {
        const input = batches(profile, size).slice(0, 200);
        const payloads = input.map((b) => {
          if (encoding === 'json') return Buffer.from(encodeJsonFrame(b, SENT));
          writer.reset();
          encodeBinaryBatch(writer, b, SENT);
          return Buffer.from(writer.buf.subarray(0, writer.pos));
        });
        const raw = payloads.reduce((n, p) => n + p.length, 0) / payloads.length;
        const lz4 = payloads.reduce((n, p) => n + compressSync(p).length, 0) / payloads.length;
        const byBatch = new Map(input.map((b, i) => [b, payloads[i]]));
        const micros = microsPerTick((b) => compressSync(byBatch.get(b)!), input, 3) * size;
        rows.push([encoding, profile, size, raw.toFixed(0), lz4.toFixed(0), `${((100 * (raw - lz4)) / raw).toFixed(0)}%`, micros.toFixed(2)]);
      }
    }
  }
  return [
    '### LZ4 threshold evidence (mean payload bytes per frame; LZ4 bytes include the 4-byte length)',
    '',
    `Thresholds in use: json ${LZ4_MIN_BYTES.json} bytes, bin ${LZ4_MIN_BYTES.bin} bytes.`,
    '',
    table(['encoding', 'ticks', 'batch', 'raw bytes', 'lz4 bytes', 'saved', 'compress µs/frame'], rows),
  ].join('\n');
}

export function wireSizeReport(): string {
  return [formatTables('trade'), '', formatTables('quote'), '', thresholdTable()].join('\n');
}

if (require.main === module) console.log(wireSizeReport());
