/** SDK clients watched across a gateway failover, and the check that what each delivered is the stream, whole. */
import { expect } from 'chai';
import { DataFrame, GapEvent, TickgateClient } from '../../src/client/node';
import { compareStreamIds } from '../../src/wire/tick';
import { waitUntil } from './gateway';

/** The bound on a resume after an instance dies: every client served again by another within it. */
export const RESUME_WITHIN_MS = 5_000;

export const FORMATS = [
  { format: 'json', compression: 'none' },
  { format: 'binary', compression: 'none' },
  { format: 'binary', compression: 'lz4' },
] as const;

/** One SDK client and what its application saw. */
export interface Watched {
  client: TickgateClient;
  symbols: string[];
  ids: Map<string, string[]>;
  gaps: GapEvent[];
  /** The URL of every reconnect, in order. */
  reconnects: string[];
  /** Per symbol, whether a frame arrived on a connection opened after the kill. */
  afterKill: Set<string>;
}

export function watch(client: TickgateClient, symbols: string[], killed: () => boolean): Watched {
  const w: Watched = { client, symbols, ids: new Map(symbols.map((s) => [s, []])), gaps: [], reconnects: [], afterKill: new Set() };
  let reopened = false;
  client.on('open', () => {
    reopened = killed();
  });
  client.on('ticks', (f: DataFrame) => {
    w.ids.get(f.sym)?.push(...f.ticks.map((t) => t.id));
    if (reopened) w.afterKill.add(f.sym);
  });
  client.on('gap', (g) => w.gaps.push(g));
  client.on('reconnecting', (_attempt, _delay, url) => w.reconnects.push(url));
  return w;
}

/** Symbols of client `i` of many: 4 each, overlapping, so every symbol has several clients. */
export function symbolsOf(i: number, all: string[]): string[] {
  return [0, 1, 2, 3].map((k) => all[(i + 4 * k) % all.length]);
}

/**
 * Once the feed has stopped: waits until every client holds the last entry of each of its symbols, then checks that,
 * per symbol, it delivered every entry from its first tick on, once, in order (what the dead instance delivered, then
 * what the other replayed and published), and saw no gap.
 */
export async function expectWholeAcrossFailover(watched: Watched[], entriesOf: (sym: string) => Promise<string[]>): Promise<void> {
  const expected = new Map<string, string[]>();
  for (const s of new Set(watched.flatMap((w) => w.symbols))) expected.set(s, await entriesOf(s));
  await waitUntil('every client caught up with the stream', () =>
    watched.every((w) => w.symbols.every((s) => w.ids.get(s)!.at(-1) === expected.get(s)!.at(-1))), 15_000);
  for (const w of watched) {
    expect(w.gaps).to.deep.equal([]);
    for (const s of w.symbols) {
      const got = w.ids.get(s)!;
      const all = expected.get(s)!;
      expect(got, s).to.deep.equal(all.slice(all.indexOf(got[0])));
      for (let i = 1; i < got.length; i++) expect(compareStreamIds(got[i], got[i - 1])).to.equal(1);
    }
  }
}
