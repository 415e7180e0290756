/**
 * The peers' ingest, written the way a team would without tickgate: node-redis v4, a consumer group of its own
 * (created with MKSTREAM), XREADGROUP ... COUNT ... BLOCK on a dedicated connection, each read grouped per symbol
 * into one frame object shaped exactly like tickgate's JSON frame, then XACK on a second connection.
 */
import { createClient } from 'redis';
import { PeerOptions } from './peer-options';

export interface PeerTick {
  id: string;
  ts: number;
  [field: string]: string | number;
}

export interface PeerFrame {
  type: 'ticks';
  sym: string;
  sent: number;
  ticks: PeerTick[];
}

/** Resolves once the group exists, then reads until the process exits. */
export async function readFrames(opts: PeerOptions, onFrames: (frames: PeerFrame[]) => void): Promise<void> {
  const reader = createClient({ url: opts.redis });
  const acker = reader.duplicate();
  for (const c of [reader, acker]) c.on('error', (err: Error) => process.stderr.write(`peer redis: ${err.message}\n`));
  await Promise.all([reader.connect(), acker.connect()]);
  try {
    await reader.xGroupCreate(opts.stream, opts.group, '$', { MKSTREAM: true });
  } catch (err) {
    if (!(err as Error).message.includes('BUSYGROUP')) throw err;
  }
  void (async () => {
    for (;;) {
      const reply = await reader.xReadGroup(opts.group, 'peer', { key: opts.stream, id: '>' }, { COUNT: opts.readCount, BLOCK: opts.readBlockMs });
      const messages = reply?.[0]?.messages ?? [];
      if (messages.length === 0) continue;
      const bySymbol = new Map<string, PeerTick[]>();
      for (const { id, message } of messages) {
        const { sym, ts, ...fields } = message;
        let ticks = bySymbol.get(sym);
        if (ticks === undefined) bySymbol.set(sym, (ticks = []));
        ticks.push({ id, ts: Number(ts), ...fields });
      }
      const sent = Date.now();
      onFrames([...bySymbol].map(([sym, ticks]) => ({ type: 'ticks', sym, sent, ticks })));
      // A failed ack leaves the entries pending, which only matters after a restart: not this benchmark's concern.
      acker.xAck(opts.stream, opts.group, messages.map((m) => m.id)).catch(() => undefined);
    }
  })().catch((err: Error) => {
    process.stderr.write(`peer reader: ${err.message}\n`);
    process.exit(1);
  });
}
