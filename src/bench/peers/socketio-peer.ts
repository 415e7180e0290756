/**
 * Peer (b): Socket.IO with @socket.io/redis-streams-adapter, the way its documentation sets it up. A room per
 * symbol; the reader XREADGROUPs the tick stream and does `io.to(sym).emit('ticks', frame)` per symbol batch. With
 * the adapter every broadcast is also XADDed to the adapter's Redis stream so that every Socket.IO node can deliver
 * it to its own sockets: that is the adapter's point, and its cost is part of what is measured.
 *
 * `node dist/bench/peers/socketio-peer.js --port 0 --redis URL --stream KEY`: prints {"msg":"serving","port":N}.
 */
import { createServer } from 'node:http';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { logServing, peerOptions } from './peer-options';
import { readFrames } from './stream-frames';

interface SubscribeRequest {
  id?: unknown;
  symbols?: unknown;
}

async function main(): Promise<void> {
  const opts = peerOptions(process.argv.slice(2), 'socketio-peer');
  const adapterClient = createClient({ url: opts.redis });
  adapterClient.on('error', (err: Error) => process.stderr.write(`socket.io peer redis: ${err.message}\n`));
  await adapterClient.connect();

  const http = createServer();
  const io = new Server(http, { adapter: createAdapter(adapterClient), serveClient: false });
  io.on('connection', (socket) => {
    socket.on('subscribe', (req: SubscribeRequest, ack?: (reply: unknown) => void) => {
      if (!Array.isArray(req?.symbols)) return ack?.({ type: 'error', id: req?.id ?? null, code: 'BAD_REQUEST', message: 'symbols must be an array' });
      void socket.join(req.symbols as string[]);
      ack?.({ type: 'ack', id: req.id, op: 'subscribe', symbols: req.symbols });
    });
  });

  await readFrames(opts, (frames) => {
    for (const frame of frames) io.to(frame.sym).emit('ticks', frame);
  });
  http.listen(opts.port, opts.host, () => logServing((http.address() as { port: number }).port, 'socket.io'));

  // Nothing to flush: unacked entries are re-read by design. Exiting at once also works with Redis already gone.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
}

main().catch((err: Error) => {
  process.stderr.write(`socket.io peer: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
