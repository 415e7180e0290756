/**
 * Peer (a): the straightforward Node gateway. `ws` WebSocketServer, a Map from symbol to subscribed sockets, and
 * for every read: one JSON.stringify per symbol batch, then `client.send(frame)` for each subscriber. It speaks
 * tickgate's protocol subset the load generator uses (subscribe → ack, JSON `ticks` frames of the same shape), so
 * the same clients measure both.
 *
 * `node dist/bench/peers/ws-peer.js --port 0 --redis URL --stream KEY`: prints {"msg":"serving","port":N}.
 */
import { WebSocket, WebSocketServer } from 'ws';
import { logServing, peerOptions } from './peer-options';
import { readFrames } from './stream-frames';

async function main(): Promise<void> {
  const opts = peerOptions(process.argv.slice(2), 'ws-peer');
  const subscribers = new Map<string, Set<WebSocket>>();
  const wss = new WebSocketServer({ host: opts.host, port: opts.port, path: '/v1/stream' });

  wss.on('connection', (ws) => {
    const mine = new Set<string>();
    ws.on('message', (data) => {
      let req: { op?: string; id?: unknown; symbols?: unknown };
      try {
        req = JSON.parse(data.toString());
      } catch {
        return ws.send(JSON.stringify({ type: 'error', id: null, code: 'BAD_REQUEST', message: 'not JSON' }));
      }
      if (req.op !== 'subscribe' || !Array.isArray(req.symbols)) {
        return ws.send(JSON.stringify({ type: 'error', id: req.id ?? null, code: 'UNKNOWN_OP', message: 'only subscribe is supported' }));
      }
      for (const sym of req.symbols as string[]) {
        let set = subscribers.get(sym);
        if (set === undefined) subscribers.set(sym, (set = new Set()));
        set.add(ws);
        mine.add(sym);
      }
      ws.send(JSON.stringify({ type: 'ack', id: req.id, op: 'subscribe', symbols: req.symbols }));
    });
    ws.on('close', () => {
      for (const sym of mine) subscribers.get(sym)?.delete(ws);
    });
  });

  const listening = new Promise<void>((resolve) => wss.once('listening', resolve));
  // The consumer group exists once readFrames resolves: only then may the benchmark start producing.
  await readFrames(opts, (frames) => {
    for (const frame of frames) {
      const clients = subscribers.get(frame.sym);
      if (clients === undefined) continue;
      const text = JSON.stringify(frame);
      for (const client of clients) client.send(text);
    }
  });
  await listening;
  logServing((wss.address() as { port: number }).port, 'ws');

  // Nothing to flush: unacked entries are re-read by design. Exiting at once also works with Redis already gone.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
}

main().catch((err: Error) => {
  process.stderr.write(`ws peer: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
