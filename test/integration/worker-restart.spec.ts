/**
 * A worker thread that fails (an uncaught exception, not SIGUSR2's recycle) is restarted by the pool. No client
 * request can make a worker fail, so this runs the real WorkerPool in the test process, with real worker threads and
 * real WebSocket clients, and hands one worker a frames message it cannot read: it throws, takes the same path as any
 * crash (close its sockets, exit 1), and the pool restarts it. (Worker.terminate() is no substitute: a thread ended
 * with uWS sockets open aborts the whole process.)
 */
import { expect } from 'chai';
import type { Worker } from 'node:worker_threads';
import { gatewayConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics/metrics';
import { PartitionedRegistry } from '../../src/registry/partitioned-registry';
import { WorkerPool } from '../../src/server/worker-pool';
import { topicFor } from '../../src/wire/formats';
import { waitUntil } from '../helpers/gateway';
import { TestClient } from '../helpers/ws-client';

describe('worker pool: a worker that exits by itself', function () {
  this.timeout(30_000);
  let pool: WorkerPool | undefined;
  const clients: TestClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    await pool?.close(1001, 'test over');
  });

  it('closes its clients, counts the restart, forgets its sessions, and serves new clients on the restarted worker', async () => {
    const cfg = gatewayConfig(['--port', '0', '--host', '127.0.0.1', '--workers', '2', '--log-level', 'silent'], {});
    const registry = new PartitionedRegistry(cfg.workers, { topicCapacity: cfg.topicCapacity, sessionCapacity: cfg.sessionCapacity });
    const metrics = createMetrics({ processMetrics: false, registryStats: () => registry.stats() });
    pool = new WorkerPool(cfg, registry, metrics, createLogger('silent'));
    const url = `ws://127.0.0.1:${await pool.start()}/v1/stream`;
    const restarts = async () => (await metrics.workerRestarts.get()).values[0]?.value ?? 0;

    for (let i = 0; i < 16; i++) clients.push(await TestClient.connect(url));
    await waitUntil('every session registered', async () => (await registry.stats()).sessions === 16);
    await Promise.all(clients.map((c) => c.request({ op: 'subscribe', symbols: ['HELD'] })));
    const [onZero, onOne] = (await registry.stats()).sessionsByWorker;
    expect(onZero, 'connections on worker 0').to.be.greaterThan(0);

    const worker0 = (pool as unknown as { workers: (Worker | undefined)[] }).workers[0]!;
    const codes: number[] = [];
    for (const c of clients) void c.closed.then((e) => codes.push(e.code));
    const exited = new Promise<number>((resolve) => worker0.once('exit', resolve));
    worker0.postMessage({ type: 'frames', seq: 0, bytes: new SharedArrayBuffer(1), topics: ['x'], ends: null, binary: [false] });
    expect(await exited, 'the worker\'s exit code').to.equal(1);

    await waitUntil('worker 0 running again', async () => (await metrics.workersAlive.get()).values[0].value === 2 && await restarts() === 1);
    // Its sockets are cut, not closed with a frame (README: "A worker that fails closes all its sockets"): 1006.
    await waitUntil('the dead worker\'s clients closed', () => codes.length === onZero);
    await sleep(200);
    expect(codes, 'exactly the dead worker\'s clients are closed').to.deep.equal(new Array(onZero).fill(1006));
    expect(await restarts()).to.equal(1);
    const after = await registry.stats();
    expect(after.sessionsByWorker, 'sessions of the dead worker forgotten, the others kept').to.deep.equal([0, onOne]);
    expect(after.subscriptions, 'subscriptions of the dead worker forgotten').to.equal(onOne);

    // New clients: the kernel spreads them over both listen sockets again; one on worker 0 gets published frames.
    const fresh: TestClient[] = [];
    for (let i = 0; i < 16 && (await registry.stats()).sessionsByWorker[0] === 0; i++) {
      fresh.push(await TestClient.connect(url));
      clients.push(fresh[fresh.length - 1]);
      await waitUntil('registered', async () => (await registry.stats()).sessions === onOne + fresh.length);
    }
    expect((await registry.stats()).sessionsByWorker[0], 'a new client on the restarted worker').to.be.greaterThan(0);
    await Promise.all(fresh.map((c) => c.request({ op: 'subscribe', symbols: ['W'] })));
    const frame = JSON.stringify({ type: 'ticks', sym: 'W', ticks: [{ id: '1-0', ts: 1, px: '1', sz: '1' }] });
    pool.publish(topicFor('json', 'W'), frame, false);
    await pool.flush();
    await waitUntil('every new client has the frame', () => fresh.every((c) => c.idsOf('W').length === 1));
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
