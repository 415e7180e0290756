import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { connect, Socket } from 'node:net';
import WebSocket from 'ws';
import { PrivateRedis } from '../../src/demo/private-redis';
import { GatewayProcess, metricValue, readyStatus, startGateway, waitUntil } from '../helpers/gateway';
import { killAll } from '../helpers/processes';
import { plainClient, PlainRedis, privateRedis, streamIdsOf, xaddTicks } from '../helpers/redis';
import { TestClient } from '../helpers/ws-client';
import { freePort } from '../../src/net';

const LIMIT = 256;
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU the process used over `ms`, as a fraction of one core (utime + stime of every thread). */
async function cpuShare(pid: number, ms: number): Promise<number> {
  const ticks = () => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  const t0 = ticks();
  await new Promise((r) => setTimeout(r, ms));
  return (ticks() - t0) / USER_HZ / (ms / 1000);
}

type Attempt = { client: TestClient } | { status: number; body: string } | { failed: string };

/** One upgrade that gives up after `timeoutMs`: at exhaustion an unaccepted connection just waits. */
function attempt(url: string, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { handshakeTimeout: timeoutMs });
    ws.once('open', () => resolve({ client: new (TestClient as unknown as new (ws: WebSocket) => TestClient)(ws) }));
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.once('end', () => (req.destroy(), resolve({ status: res.statusCode ?? 0, body })));
    });
    ws.once('error', (err) => resolve({ failed: err.message }));
  });
}

/** A TCP connection that never sends a byte; resolves null once the port refuses connections. */
function silent(port: number): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(null));
  });
}

function healthOn(http: string, agent: Agent): Promise<{ status: number; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    get(`${http}/healthz`, { agent, timeout: 5000 }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - t0 }));
    }).once('error', reject).once('timeout', () => reject(new Error('/healthz: no answer within 5 s')));
  });
}

describe(`fault: file-descriptor exhaustion (gateway under ulimit -n ${LIMIT})`, function () {
  this.timeout(90_000);
  let redis: PrivateRedis;
  let producer: PlainRedis;
  let gw: GatewayProcess;
  let metrics: string;
  const clients: TestClient[] = [];
  const sockets: Socket[] = [];

  before(async () => {
    redis = await privateRedis();
    producer = await plainClient(redis.url);
    const metricsPort = await freePort();
    gw = await startGateway(redis.url, ['--workers', '2', '--metrics-port', String(metricsPort)], { maxOpenFiles: LIMIT });
    metrics = `http://127.0.0.1:${metricsPort}`;
    await waitUntil('ready', async () => (await readyStatus(gw.http)) === 200);
  });

  after(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of sockets.splice(0)) s.destroy();
    await gw?.stop();
    await producer?.quit();
    await redis?.stop();
    killAll();
  });

  it('refuses upgrades and then pauses accept before the last descriptor; workers stay idle, /healthz answers, service resumes', async () => {
    const healthy = await TestClient.connect(gw.url);
    clients.push(healthy);
    expect(await healthy.request({ op: 'subscribe', symbols: ['HEALTHY'] })).to.include({ type: 'ack' });
    // A probe that keeps its connection, like a load balancer's: answered even while the port is paused.
    const probe = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await healthOn(gw.http, probe)).status).to.equal(200);
    let feeding = true;
    const feed = (async () => {
      for (let i = 0; feeding; i += 10) {
        await xaddTicks(producer, 'ticks', ['HEALTHY'], 10, i);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    // 1. Idle upgrades until the gateway stops admitting them.
    let last: Attempt;
    for (;;) {
      last = await attempt(gw.url, 2000);
      if (!('client' in last)) break;
      clients.push(last.client);
      expect(clients.length, 'upgrades admitted up to the limit').to.be.below(LIMIT);
    }
    const shedCpu = await cpuShare(gw.child.pid!, 2000);
    const fresh = await healthOn(gw.http, new Agent());
    console.log(`      ${clients.length - 1} idle upgrades admitted, then ${'status' in last ? `HTTP ${last.status}` : JSON.stringify(last)}; ` +
      `CPU ${(shedCpu * 100).toFixed(0)}% of a core over 2 s; /healthz ${fresh.status} in ${fresh.ms} ms`);
    expect(last).to.deep.include({ status: 503 });
    expect(JSON.parse((last as { body: string }).body)).to.include({ error: 'TOO_MANY_CONNECTIONS' });
    expect(shedCpu).to.be.below(0.3);
    expect(fresh.status).to.equal(200);
    expect(fresh.ms).to.be.below(1000);
    expect(await metricValue(metrics, 'tickgate_upgrades_rejected_total', { reason: 'descriptors' })).to.be.at.least(1);

    // 2. Connections that never send a request eat the reserve: accept pauses before the last descriptor.
    for (;;) {
      const s = await silent(gw.port);
      if (s === null) break;
      sockets.push(s);
      // Paced like a real flood of clients, not a burst within one descriptor count: the guard counts every few ms
      // (README, "Limits"), and a burst faster than that can overshoot by what one interval lets in.
      await new Promise((r) => setTimeout(r, 5));
      expect(sockets.length, 'silent connections accepted up to the limit').to.be.below(LIMIT);
    }
    const pausedCpu = await cpuShare(gw.child.pid!, 2000);
    const kept = await healthOn(gw.http, probe);
    const paused = await metricValue(metrics, 'tickgate_accept_paused');
    console.log(`      ${sockets.length} silent connections, then refused; CPU ${(pausedCpu * 100).toFixed(0)}% of a core over 2 s; ` +
      `workers paused: ${paused}; /healthz on a kept connection ${kept.status} in ${kept.ms} ms`);
    expect(pausedCpu).to.be.below(0.3);
    expect(paused).to.equal(2);
    expect(kept.status).to.equal(200);
    expect(kept.ms).to.be.below(1000);
    expect(gw.logs.some((l) => l.includes('accept paused'))).to.equal(true);

    // 3. Descriptors return: accept resumes, new clients connect and get ticks.
    for (const s of sockets.splice(0)) s.destroy();
    for (const c of clients.splice(1)) c.close();
    const t0 = Date.now();
    await waitUntil('/healthz on a new connection', async () => (await healthOn(gw.http, new Agent())).status === 200, 15_000, 100);
    console.log(`      accept resumed ${Date.now() - t0} ms after the connections closed`);
    // Each worker re-listens on its own backoff (at most 5 s): the other may still be paused a moment later.
    await waitUntil('every worker accepting again', async () => (await metricValue(metrics, 'tickgate_accept_paused')) === 0, 10_000, 100);
    expect(await metricValue(metrics, 'tickgate_accept_pauses_total')).to.be.at.least(2);
    const late = await TestClient.connect(gw.url);
    clients.push(late);
    expect(await late.request({ op: 'subscribe', symbols: ['LATE'] })).to.include({ type: 'ack' });
    const [id] = await xaddTicks(producer, 'ticks', ['LATE'], 1);
    await waitUntil('the new client has its tick', () => late.idsOf('LATE').length === 1);
    expect(late.idsOf('LATE')).to.deep.equal([id]);

    feeding = false;
    await feed;
    const expected = await streamIdsOf(producer, 'ticks', 'HEALTHY');
    await waitUntil('the subscriber has every tick', () => healthy.idsOf('HEALTHY').length >= expected.length);
    expect(healthy.idsOf('HEALTHY')).to.deep.equal(expected);
    probe.destroy();
  });
});
