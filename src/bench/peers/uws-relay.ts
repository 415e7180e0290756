/**
 * The physical floor, not a product: uWebSockets.js on the main thread, `XREAD BLOCK` (no consumer group, no ack,
 * no sessions, no history, no metrics), one `JSON.stringify` per symbol batch and one `app.publish` per frame.
 * Whatever tickgate spends above this relay is what its guarantees and operations cost.
 *
 * `node dist/bench/peers/uws-relay.js --port 0 --redis URL --stream KEY`: prints {"msg":"serving","port":N}.
 */
import { createClient } from 'redis';
import { loadUws } from '../../server/uws';
import { logServing, peerOptions } from './peer-options';
import { PeerTick } from './stream-frames';

type XreadReply = [string, [string, string[]][]][] | null;

async function main(): Promise<void> {
  const opts = peerOptions(process.argv.slice(2), 'uws-relay');
  const uws = loadUws();
  const app = uws.App();
  app.ws<object>('/v1/stream', {
    message: (ws, message) => {
      const req = JSON.parse(Buffer.from(message).toString()) as { op?: string; id?: unknown; symbols?: unknown };
      if (req.op !== 'subscribe' || !Array.isArray(req.symbols)) {
        ws.send(JSON.stringify({ type: 'error', id: req.id ?? null, code: 'UNKNOWN_OP', message: 'only subscribe is supported' }));
        return;
      }
      for (const sym of req.symbols as string[]) ws.subscribe(sym);
      ws.send(JSON.stringify({ type: 'ack', id: req.id, op: 'subscribe', symbols: req.symbols }));
    },
  });

  const reader = createClient({ url: opts.redis });
  reader.on('error', (err: Error) => process.stderr.write(`relay redis: ${err.message}\n`));
  await reader.connect();
  // The stream's end when the relay starts, as a new consumer group at `$` would begin.
  const newest = (await reader.sendCommand(['XREVRANGE', opts.stream, '+', '-', 'COUNT', '1'])) as [string, string[]][];
  let last = newest[0]?.[0] ?? '0-0';
  const count = String(opts.readCount);
  const block = String(opts.readBlockMs);
  void (async () => {
    for (;;) {
      const reply = (await reader.sendCommand(['XREAD', 'COUNT', count, 'BLOCK', block, 'STREAMS', opts.stream, last])) as XreadReply;
      const entries = reply?.[0]?.[1];
      if (entries === undefined || entries.length === 0) continue;
      last = entries[entries.length - 1][0];
      const bySymbol = new Map<string, PeerTick[]>();
      for (const [id, fields] of entries) {
        const tick: PeerTick = { id, ts: 0 };
        let sym = '';
        for (let i = 0; i < fields.length; i += 2) {
          const name = fields[i];
          if (name === 'sym') sym = fields[i + 1];
          else if (name === 'ts') tick.ts = Number(fields[i + 1]);
          else tick[name] = fields[i + 1];
        }
        let ticks = bySymbol.get(sym);
        if (ticks === undefined) bySymbol.set(sym, (ticks = []));
        ticks.push(tick);
      }
      const sent = Date.now();
      for (const [sym, ticks] of bySymbol) app.publish(sym, JSON.stringify({ type: 'ticks', sym, sent, ticks }), false);
    }
  })().catch((err: Error) => {
    process.stderr.write(`relay reader: ${err.message}\n`);
    process.exit(1);
  });

  app.listen(opts.host, opts.port, (socket) => {
    if (!socket) {
      process.stderr.write('relay: cannot listen\n');
      process.exit(1);
    }
    logServing(uws.us_socket_local_port(socket), 'uws relay');
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
}

main().catch((err: Error) => {
  process.stderr.write(`uws relay: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
