/**
 * Graceful drain on SIGTERM, against the real thing: dist/cli.js on a private redis-server, raw WebSocket clients.
 * /readyz turns 503 and accept stops at the signal; each client is closed with 4007 as soon as nothing waits in its
 * send buffer, while ingest runs on; the reader stops and acks only once the clients have gone (or at
 * --drain-timeout-ms), and the process exits 0. A client that stopped reading (its socket paused, megabytes queued
 * for it) is what keeps a drain open long enough to look at the gateway meanwhile: through an HTTP connection opened
 * before the signal, since the port takes no new ones.
 */
import { expect } from 'chai';
import { Agent, get } from 'node:http';
import { CLOSES } from '../../src/protocol/codes';
import { compareStreamIds } from '../../src/wire/tick';
import { GatewayProcess, metricValue, waitUntil } from '../helpers/gateway';
import { xaddTicks } from '../helpers/redis';
import { fixture } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';

const GROUP = 'tickgate:test';
const DRAINING = { code: CLOSES.DRAINING.code, reason: CLOSES.DRAINING.reason() };
/** The symbol of the large ticks only the stalled client subscribes to. */
const BULK = 'BULK';
/** 2 KB of pass-through fields per bulk tick: a few thousand fill the kernel's socket buffers on loopback. */
const BULK_FIELDS = Object.fromEntries(Array.from({ length: 8 }, (_, k) => [`x${k}`, 'x'.repeat(256)]));

interface Answer {
  status: number;
  body: string;
  /** The request went over the connection an earlier one opened. */
  reused: boolean;
}

/** GET over `agent` (one kept-alive connection): the way to reach a gateway that no longer accepts connections. */
function httpGet(agent: Agent, port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket }));
    });
    req.once('error', reject);
  });
}

/** The error code of a WebSocket connection attempt; 'open' if it was accepted (and is closed again). */
async function connectOutcome(url: string): Promise<string> {
  try {
    (await TestClient.connect(url)).ws.terminate();
    return 'open';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** The value of one sample line of a /metrics text, with every given label; NaN when there is none. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const line = text.split('\n').find((l) => l.startsWith(name + '{') && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function paused(c: TestClient): { pause(): void; resume(): void } {
  return (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
}

describe('graceful drain on SIGTERM', function () {
  this.timeout(90_000);
  let agent: Agent;
  let writing: Promise<void> | undefined;
  let keepWriting = false;

  beforeEach(() => {
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
  });

  // Before the fixture's: the writer stops while its Redis is still there.
  afterEach(async () => {
    keepWriting = false;
    await writing;
    agent.destroy();
  });
  const fx = fixture();

  /** Ticks of A and B, a few hundred a second, until the test ends: ingest has work all through the drain. */
  function startWriting(): void {
    keepWriting = true;
    writing = (async () => {
      for (let i = 0; keepWriting; i += 10) {
        await xaddTicks(fx.producer, 'ticks', ['A', 'B'], 10, i).catch(() => undefined);
        await sleep(20);
      }
    })();
  }

  /**
   * A gateway with three clients that keep up (A and B) and one that stopped reading with megabytes of BULK ticks
   * queued for it in the gateway (uWS's own buffer, past the kernel's), all of them read by the gateway before this
   * returns; and a kept-alive HTTP connection to it.
   */
  async function setUp(flags: string[]): Promise<{ gw: GatewayProcess; fast: TestClient[]; stalled: TestClient; bulkIds: string[] }> {
    // --backpressure-soft-limit 0: tickgate_backpressured_sockets counts any socket with bytes waiting in uWS.
    // The ladder stays out of the way (it would conflate the stalled client), well above what the test queues.
    const gw = await fx.gateway([...flags, '--backpressure-soft-limit', '0', '--conflate-above-bytes', String(64 << 20),
      '--max-backpressure', String(128 << 20)]);
    const fast: TestClient[] = [];
    for (let i = 0; i < 3; i++) {
      const c = fx.keep(await TestClient.connect(gw.url));
      await c.request({ op: 'subscribe', symbols: ['A', 'B'] });
      fast.push(c);
    }
    const stalled = fx.keep(await TestClient.connect(gw.url));
    await stalled.request({ op: 'subscribe', symbols: [BULK] });
    paused(stalled).pause();
    const bulkIds: string[] = [];
    await waitUntil('megabytes queued for the stalled client in the gateway', async () => {
      bulkIds.push(...(await Promise.all(Array.from({ length: 100 }, () =>
        fx.producer.xAdd('ticks', '*', { sym: BULK, px: '1.00', sz: '1', ts: String(Date.now()), ...BULK_FIELDS })))));
      await sleep(50);
      return (await metricValue(gw.http, 'tickgate_backpressured_sockets')) > 0;
    }, 30_000, 0);
    startWriting();
    await waitUntil('ticks reach the clients that keep up', () => fast.every((c) => c.tickCount() > 0));
    const last = bulkIds[bulkIds.length - 1];
    await waitUntil('every bulk tick read by the gateway', async () => {
      const group = (await fx.producer.xInfoGroups('ticks')).find((g) => g.name === GROUP)!;
      return compareStreamIds(group.lastDeliveredId, last) >= 0;
    });
    expect((await httpGet(agent, gw.port, '/readyz')).status, 'ready before the signal').to.equal(200);
    return { gw, fast, stalled, bulkIds };
  }

  async function nothingPending(): Promise<void> {
    expect((await fx.producer.xPending('ticks', GROUP)).pending, 'entries read but not acked').to.equal(0);
  }

  for (const workers of ['0', '1']) {
    describe(`--workers ${workers}`, () => {
      it('answers /readyz 503 "draining" and refuses new connections from the signal on, closes each client with 4007 once its queue is sent, then acks all it read and exits 0', async () => {
        const drainTimeoutMs = 30_000;
        const { gw, fast, stalled, bulkIds } = await setUp(['--workers', workers, '--drain-timeout-ms', String(drainTimeoutMs),
          '--shutdown-timeout-ms', String(drainTimeoutMs + 10_000)]);
        const signalled = Date.now();
        gw.child.kill('SIGTERM');

        // The clients that keep up are closed at once, with the code and reason that send them elsewhere now.
        for (const c of fast) expect(await c.closed).to.deep.equal(DRAINING);
        const readyz = await httpGet(agent, gw.port, '/readyz');
        expect(readyz).to.deep.equal({ status: 503, reused: true,
          body: JSON.stringify({ ready: false, reason: 'draining: shutting down, send new connections elsewhere' }) });
        await waitUntil('the drain logged', () => gw.logs.some((l) => l.includes('"msg":"draining: /readyz 503, accept stopped, clients closed with 4007"')));
        // The listen socket is closed: nothing on the port accepts (another process sharing it would).
        await waitUntil('the port refusing connections', async () => (await connectOutcome(gw.url)) === 'ECONNREFUSED', 5000);
        expect(await connectOutcome(gw.url)).to.equal('ECONNREFUSED');

        // The stalled client holds the drain open: still connected, and the reader still reading.
        const metrics = await httpGet(agent, gw.port, '/metrics');
        expect(metrics.reused).to.equal(true);
        expect(sample(metrics.body, 'tickgate_connections_closed_total', { reason: 'draining', instance: 'test' }), 'drain closes counted').to.equal(3);
        expect(sample(metrics.body, 'tickgate_connections_open', { worker: '0', instance: 'test' }), 'the stalled client still held').to.equal(1);
        const readBefore = sample(metrics.body, 'tickgate_ticks_read_total', { stream: 'ticks', instance: 'test' });
        await waitUntil('ticks still read while draining', async () =>
          sample((await httpGet(agent, gw.port, '/metrics')).body, 'tickgate_ticks_read_total', { stream: 'ticks', instance: 'test' }) > readBefore, 5000, 100);
        expect(gw.child.exitCode).to.equal(null);

        // Reading again, it receives everything queued for it, then its 4007: nothing was dropped while it was connected.
        paused(stalled).resume();
        expect(await stalled.closed).to.deep.equal(DRAINING);
        expect(stalled.idsOf(BULK)).to.deep.equal(bulkIds);
        expect(await gw.exited).to.equal(0);
        expect(Date.now() - signalled, 'exited once the last client had gone, before the drain timeout').to.be.below(drainTimeoutMs);
        const drained = gw.logs.find((l) => l.includes('"msg":"drained"'));
        expect(drained, 'the drain logged with its duration').to.be.a('string');
        expect(JSON.parse(drained!)).to.include({ clients: 4, left: 0 }).and.to.have.property('durationMs').that.is.a('number');
        keepWriting = false;
        await writing;
        await nothingPending();
      });

      it('at --drain-timeout-ms closes the clients still there and goes on with the stop: acks all it read and exits 0', async () => {
        const { gw, fast } = await setUp(['--workers', workers, '--drain-timeout-ms', '1000', '--shutdown-timeout-ms', '8000']);
        const signalled = Date.now();
        gw.child.kill('SIGTERM');
        for (const c of fast) expect(await c.closed).to.deep.equal(DRAINING);
        expect(await gw.exited).to.equal(0);
        expect(Date.now() - signalled, 'waited the drain timeout for the stalled client').to.be.at.least(1000);
        const timedOut = gw.logs.find((l) => l.includes('"msg":"drain timed out; closing the clients left"'));
        expect(timedOut, 'the drain logged as timed out').to.be.a('string');
        expect(JSON.parse(timedOut!)).to.include({ clients: 4, left: 1 });
        keepWriting = false;
        await writing;
        await nothingPending();
      });
    });
  }
});
