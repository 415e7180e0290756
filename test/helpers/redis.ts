/** A private redis-server per test file, plus a plain client for writing ticks the way any producer would. */
import { createClient } from 'redis';
import { PrivateRedis, PrivateRedisOptions, startPrivateRedis } from '../../src/demo/private-redis';
import { track } from './processes';

export type PlainRedis = ReturnType<typeof createClient>;

export async function privateRedis(port?: number, opts?: PrivateRedisOptions): Promise<PrivateRedis> {
  const r = await startPrivateRedis(port, opts);
  track(r.child);
  return r;
}

export async function plainClient(url: string): Promise<PlainRedis> {
  const c = createClient({ url });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/** A tick as a producer writes it. */
export function tickFields(sym: string, i: number): Record<string, string> {
  return { sym, px: (100 + (i % 1000) / 100).toFixed(2), sz: '1.5', ts: String(Date.now()) };
}

/** XADDs `count` ticks round-robin over `symbols`, pipelined; returns the ids in stream order. */
export async function xaddTicks(client: PlainRedis, stream: string, symbols: string[], count: number, offset = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 500) {
    const n = Math.min(500, count - start);
    const batch = Array.from({ length: n }, (_, k) => {
      const i = offset + start + k;
      return client.xAdd(stream, '*', tickFields(symbols[i % symbols.length], i));
    });
    ids.push(...(await Promise.all(batch)));
  }
  return ids;
}

/** The ids of `sym` in the stream, in stream order: what a subscriber must receive. */
export async function streamIdsOf(client: PlainRedis, stream: string, sym: string): Promise<string[]> {
  const entries = await client.xRange(stream, '-', '+');
  return entries.filter((e) => e.message.sym === sym).map((e) => e.id);
}
