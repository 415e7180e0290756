/** An SDK client (src/client) that records what it delivers: the ticks per symbol and every gap it announced. */
import { connect, GapEvent, Tick, TickgateClient } from '../../src/client/node';

export interface RecordingClient {
  client: TickgateClient;
  /** Delivered ticks per symbol, in delivery order (duplicates already dropped by the SDK). */
  ticks: Map<string, Tick[]>;
  gaps: GapEvent[];
  errors: Error[];
  idsOf(sym: string): string[];
}

/** Connects (no reconnect), subscribes to `symbols` and resolves once the subscription is acknowledged. */
export async function recordingClient(url: string, format: 'json' | 'binary', compression: 'none' | 'lz4', symbols: string[]): Promise<RecordingClient> {
  const client = connect(url, { format, compression, reconnect: false });
  const rec: RecordingClient = {
    client,
    ticks: new Map(),
    gaps: [],
    errors: [],
    idsOf: (sym) => (rec.ticks.get(sym) ?? []).map((t) => t.id),
  };
  client.on('ticks', (frame) => {
    const list = rec.ticks.get(frame.sym) ?? [];
    list.push(...frame.ticks);
    rec.ticks.set(frame.sym, list);
  });
  client.on('gap', (gap) => rec.gaps.push(gap));
  client.on('error', (err) => rec.errors.push(err));
  await new Promise<void>((resolve) => client.on('open', resolve));
  await client.subscribe(symbols);
  return rec;
}
