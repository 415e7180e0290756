/**
 * "Every worker still serves": a crashed worker thread is restarted silently and its clients reconnect, so a check
 * of the process and one healthy client cannot see it. This one looks at every worker.
 */
import { expect } from 'chai';
import { GatewayProcess, metricValue, waitUntil } from './gateway';
import { PlainRedis, xaddTicks } from './redis';
import { TestClient } from './ws-client';

/** Servers of a gateway started with default flags: one, on the main thread (`--workers 0`). */
export const DEFAULT_SERVERS = 1;

/** Opens enough clients that each of `workers` holds some, and checks that each gets a fresh tick; then no restart happened. */
export async function expectEveryWorkerServes(gw: GatewayProcess, producer: PlainRedis, workers: number, stream = 'ticks', options?: object): Promise<void> {
  expect(await metricValue(gw.http, 'tickgate_worker_restarts_total'), 'worker threads restarted').to.equal(0);
  expect(await metricValue(gw.http, 'tickgate_workers_alive')).to.equal(workers);
  const before = new Map<string, number>();
  for (let w = 0; w < workers; w++) before.set(String(w), await metricValue(gw.http, 'tickgate_connections_open', { worker: String(w) }));
  // The kernel spreads connections over the workers' listen sockets by a hash: 16 per worker leave none out in practice.
  const clients = await Promise.all(Array.from({ length: 16 * workers }, () => TestClient.connect(gw.url, options)));
  try {
    for (let w = 0; w < workers; w++) {
      const now = await metricValue(gw.http, 'tickgate_connections_open', { worker: String(w) });
      expect(now - before.get(String(w))!, `new connections on worker ${w}`).to.be.greaterThan(0);
    }
    await Promise.all(clients.map((c) => c.request({ op: 'subscribe', symbols: ['EVERY-WORKER'] })));
    const [id] = await xaddTicks(producer, stream, ['EVERY-WORKER'], 1);
    await waitUntil('a tick on every client', () => clients.every((c) => c.idsOf('EVERY-WORKER').at(-1) === id));
  } finally {
    for (const c of clients) c.close();
  }
}
