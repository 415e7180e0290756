/**
 * Fuzz: for a bounded time, many short- and long-lived connections send thousands of random and mutated frames,
 * and raw TCP connections send random bytes and malformed HTTP at the upgrade, while a producer feeds a healthy
 * client. The gateway must keep running and ready, its memory must stay bounded, and the healthy client must get
 * every tick of its symbol in order.
 *
 * Seeded: FUZZ_SEED=<n> reproduces each actor's inputs (printed at the start). FUZZ_MS sets the duration.
 */
import { expect } from 'chai';
import { connect as tcpConnect, Socket } from 'node:net';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { PrivateRedis } from '../../src/demo/private-redis';
import { int, mulberry32, pick, randomFrame, randomRawInput, Rng, rssOf } from '../helpers/fuzz';
import { GatewayProcess, readyStatus, waitUntil } from '../helpers/gateway';
import { PlainRedis, streamIdsOf, tickFields } from '../helpers/redis';
import { startStack, stopStack } from '../helpers/stack';
import { bearer, connectWith, upgrade } from '../helpers/upgrade';
import { TestClient } from '../helpers/ws-client';
import { DEFAULT_SERVERS, expectEveryWorkerServes } from '../helpers/workers';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const DURATION_MS = Number(process.env.FUZZ_MS ?? 12_000);
const SECRET = 'fuzz-spec-hs256-secret-at-least-32-bytes-long';
const MAX_PAYLOAD = 8192;
const PER_IP = 100;
const LONG_LIVED = 8;
const SHORT_LIVED = 10;
const RAW = 6;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fuzz', function () {
  this.timeout(120_000);
  let redis: PrivateRedis;
  let producer: PlainRedis;
  let gw: GatewayProcess;
  let token = '';
  let healthy: TestClient;

  before(async function () {
    if (process.platform !== 'linux') this.skip(); // RSS is read from /proc
    console.log(`      fuzz seed: ${SEED} (reproduce with FUZZ_SEED=${SEED}), duration ${DURATION_MS} ms`);
    ({ redis, producer, gw } = await startStack(['--instance', 'fuzz', '--auth-hs256-secret', SECRET, '--max-payload', String(MAX_PAYLOAD),
      '--max-connections-per-ip', String(PER_IP)]));
    token = await new SignJWT({ sub: 'fuzz', symbols: ['*'] }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
  });

  after(async () => {
    healthy?.close();
    await stopStack({ redis, producer, gw });
  });

  it('survives random frames and malformed upgrades: still running, ready, bounded memory, no tick lost', async () => {
    const pid = gw.child.pid!;
    healthy = await connectWith(gw.url, { headers: bearer(token) });
    expect(await healthy.request({ op: 'subscribe', symbols: ['HEALTHY'] })).to.include({ type: 'ack' });

    let stopFeed = false;
    const feeding = (async () => {
      // At least 600 ticks however slowly a loaded machine lets the feed run, so the exact comparison below has substance.
      for (let i = 0; !stopFeed || i < 600; i++) {
        await Promise.all([producer.xAdd('ticks', '*', tickFields('HEALTHY', i)),
          producer.xAdd('ticks', '*', tickFields(['BTC-USD', 'ETH-USD', 'ES.Z5', 'EUR/USD'][i % 4], i))]);
        await sleep(2);
      }
    })();
    await sleep(1000);
    const baseline = rssOf(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, rssOf(pid));
      } catch {
        // The process is gone: the liveness assertion below reports it.
      }
    }, 100);

    const stats = { frames: new Map<string, number>(), raw: new Map<string, number>(), closes: new Map<number, number>(),
      connections: 0, refused: new Map<number, number>(), errors: 0 };
    const count = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
    const open = new Set<WebSocket>();
    const rawSockets = new Set<Socket>();
    const deadline = Date.now() + DURATION_MS;
    const running = () => Date.now() < deadline;

    /** Opens a WebSocket (usually authenticated); resolves undefined when refused or failed. */
    const openWs = (r: Rng, query = ''): Promise<WebSocket | undefined> =>
      new Promise((resolve) => {
        const headers: Record<string, string> = r() < 0.9 ? bearer(token) : r() < 0.5 ? bearer(token.slice(0, -2) + 'xx') : {};
        const ws = new WebSocket(gw.url + query, { headers, handshakeTimeout: 5000 });
        ws.on('error', () => {
          stats.errors++;
          resolve(undefined);
        });
        ws.on('unexpected-response', (req, res) => {
          count(stats.refused, res.statusCode ?? 0);
          req.destroy();
          resolve(undefined);
        });
        ws.on('message', () => undefined);
        ws.on('close', (code) => {
          count(stats.closes, code);
          open.delete(ws);
        });
        ws.on('open', () => {
          stats.connections++;
          open.add(ws);
          resolve(ws);
        });
      });

    const sendFrame = async (ws: WebSocket, r: Rng) => {
      const f = randomFrame(r, MAX_PAYLOAD);
      count(stats.frames, f.kind);
      if (f.control === 'ping') ws.ping(f.data);
      else if (f.control === 'pong') ws.pong(f.data);
      else ws.send(f.data, { binary: f.binary, fin: !f.fragment });
      // Never queue unboundedly on our side.
      while (ws.readyState === WebSocket.OPEN && ws.bufferedAmount > 256 * 1024) await sleep(5);
    };

    const longLived = async (k: number) => {
      const r = mulberry32(SEED ^ (0x1000 + k) * 0x9e3779b9);
      while (running()) {
        const ws = await openWs(r);
        if (!ws) {
          await sleep(20);
          continue;
        }
        for (let i = 0; running() && ws.readyState === WebSocket.OPEN; i++) {
          await sendFrame(ws, r);
          if (i % 10 === 9) await sleep(int(r, 10));
        }
        ws.terminate();
      }
    };

    const shortLived = async (k: number) => {
      const r = mulberry32(SEED ^ (0x2000 + k) * 0x9e3779b9);
      while (running()) {
        if (r() < 0.15) {
          // Gone during the upgrade, possibly while the token is being verified.
          const ws = new WebSocket(gw.url, { headers: bearer(token) });
          ws.on('error', () => undefined);
          await sleep(int(r, 3));
          ws.terminate();
          continue;
        }
        const query = pick(r, ['', '', '?format=binary', '?format=json&compression=lz4', '?format=binary&compression=lz4', '?format=xml',
          '?compression=%00', `?token=${token}`, '?token=', '?format=json&format=binary', '?%ZZ=1']);
        const ws = await openWs(r, query);
        if (!ws) continue;
        for (let i = int(r, 20); i > 0 && ws.readyState === WebSocket.OPEN; i--) await sendFrame(ws, r);
        await sleep(int(r, 20));
        if (r() < 0.5) ws.close(pick(r, [1000, 1001, 3000, 4999]));
        else ws.terminate();
      }
    };

    const raw = async (k: number) => {
      const r = mulberry32(SEED ^ (0x3000 + k) * 0x9e3779b9);
      while (running()) {
        const input = randomRawInput(r, gw.port, token);
        count(stats.raw, input.kind);
        await new Promise<void>((resolve) => {
          const s = tcpConnect(gw.port, '127.0.0.1');
          rawSockets.add(s);
          let upgraded = false;
          const done = () => {
            s.destroy();
            rawSockets.delete(s);
            resolve();
          };
          s.on('error', done);
          s.on('close', done);
          s.on('data', (d: Buffer) => {
            if (!upgraded && input.afterUpgrade && d.toString('latin1').startsWith('HTTP/1.1 101')) {
              upgraded = true;
              s.write(input.afterUpgrade);
            }
          });
          s.once('connect', () => {
            for (const c of input.chunks) s.write(c);
            if (input.abort) return done();
            setTimeout(done, 20 + int(r, 200));
          });
        });
      }
    };

    await Promise.all([
      ...Array.from({ length: LONG_LIVED }, (_, k) => longLived(k)),
      ...Array.from({ length: SHORT_LIVED }, (_, k) => shortLived(k)),
      ...Array.from({ length: RAW }, (_, k) => raw(k)),
    ]);
    for (const ws of open) ws.terminate();
    for (const s of rawSockets) s.destroy();
    clearInterval(sampler);
    peak = Math.max(peak, rssOf(pid));
    const receivedDuringFuzz = healthy.idsOf('HEALTHY').length;

    const total = [...stats.frames.values()].reduce((a, b) => a + b, 0);
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
    console.log(`      sent ${total} frames ${JSON.stringify(Object.fromEntries(stats.frames))}`);
    console.log(`      raw inputs ${JSON.stringify(Object.fromEntries(stats.raw))}`);
    console.log(`      ${stats.connections} connections; refused ${JSON.stringify(Object.fromEntries(stats.refused))}; close codes ${JSON.stringify(Object.fromEntries(stats.closes))}`);
    console.log(`      gateway RSS baseline ${mb(baseline)}, peak ${mb(peak)}, bound ${mb(2 * baseline + 100 * 2 ** 20)}`);

    expect(total, 'frames sent').to.be.greaterThan(2000);
    // Still running and ready.
    expect(gw.child.exitCode, gw.logs.slice(-20).join('\n')).to.equal(null);
    expect(gw.child.signalCode).to.equal(null);
    expect(await readyStatus(gw.http)).to.equal(200);
    // Memory bounded: twice the warmed-up baseline plus 100 MB.
    expect(peak).to.be.lessThan(2 * baseline + 100 * 2 ** 20);
    // The healthy client was never disturbed.
    expect(healthy.ws.readyState).to.equal(WebSocket.OPEN);
    expect(healthy.replies.filter((m) => m.type === 'error')).to.deep.equal([]);
    expect(healthy.unexpected).to.deep.equal([]);

    // Every fuzz connection's per-IP slot was given back: nearly the whole quota opens again at once.
    await sleep(500);
    const again = await Promise.all(Array.from({ length: PER_IP - 5 }, () => upgrade(gw.url, { headers: bearer(token) })));
    const refusedAgain = again.filter((a) => a.refusal).map((a) => a.refusal!.status);
    for (const a of again) a.client?.close();
    expect(refusedAgain, 'connections refused after the fuzz (leaked per-IP slots?)').to.deep.equal([]);

    stopFeed = true;
    await feeding;
    const expected = await streamIdsOf(producer, 'ticks', 'HEALTHY');
    await waitUntil('healthy client caught up', () => healthy.idsOf('HEALTHY').length >= expected.length, 15_000);
    expect(healthy.idsOf('HEALTHY')).to.deep.equal(expected);
    expect(expected.length).to.be.at.least(600);
    expect(receivedDuringFuzz, 'HEALTHY ticks received while the fuzz ran').to.be.greaterThan(0);
    // No worker thread crashed and was restarted behind the healthy client's back.
    await expectEveryWorkerServes(gw, producer, DEFAULT_SERVERS, 'ticks', { headers: bearer(token) });
  });
});
