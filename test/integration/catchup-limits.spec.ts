/**
 * The bounds of a catch-up (README "Resume with since"), against a real gateway and redis-server: --max-replay-ticks,
 * --resume-scan-limit, and INTERNAL when Redis cannot be read.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricValue, readyStatus, waitUntil } from '../helpers/gateway';
import { plainClient, PlainRedis, privateRedis, xaddTicks } from '../helpers/redis';
import { fixture } from '../helpers/stack';
import { Reply, TestClient } from '../helpers/ws-client';

const GROUP = 'tickgate:test';

interface Snapshot extends Reply {
  ticks: { sym: string; id: string }[];
}

/** Waits until the gateway has published and acked every entry up to `last`: its in-memory history holds them. */
async function publishedThrough(producer: PlainRedis, last: string): Promise<void> {
  await waitUntil('every entry published and acked', async () => {
    const g = (await producer.xInfoGroups('ticks')).find((x) => x.name === GROUP);
    return g !== undefined && g.lastDeliveredId === last && g.pending === 0;
  });
}

/** What one resume request got: replayed ids per symbol, the RESUME_UNAVAILABLE symbols, the snapshot's ticks. */
function answerTo(c: TestClient, ack: Reply) {
  const unavailable = c.replies.filter((r) => r.id === ack.id && r.code === 'RESUME_UNAVAILABLE').map((r) => r.symbols);
  const snapshots = c.replies.filter((r) => r.id === ack.id && r.type === 'snapshot') as Snapshot[];
  const replayed: Record<string, string[]> = {};
  for (const f of c.frames.filter((x) => x.kind === 'replay')) replayed[f.sym] = [...(replayed[f.sym] ?? []), ...f.ids];
  return { ack: ack.type, unavailable, snapshots: snapshots.map((s) => s.ticks.map((t) => [t.sym, t.id])), replayed };
}

describe('catch-up limits', function () {
  this.timeout(30_000);
  const fx = fixture();

  it('--max-replay-ticks: symbols in request order whose replay no longer fits the budget get RESUME_UNAVAILABLE and a snapshot', async () => {
    const gw = await fx.gateway(['--max-replay-ticks', '10']);
    const a = await xaddTicks(fx.producer, 'ticks', ['A'], 6);
    const b = await xaddTicks(fx.producer, 'ticks', ['B'], 11);
    const c = await xaddTicks(fx.producer, 'ticks', ['C'], 6);
    await publishedThrough(fx.producer, c[5]);
    const client = fx.keep(await TestClient.connect(gw.url));
    // A replays 5 (5 left), B's 10 no longer fit, C's 5 fit exactly what is left.
    const ack = await client.request({ op: 'subscribe', symbols: ['A', 'B', 'C'], since: { A: a[0], B: b[0], C: c[0] } });
    expect(answerTo(client, ack)).to.deep.equal({
      ack: 'ack',
      unavailable: [['B']],
      snapshots: [[['B', b[10]]]],
      replayed: { A: a.slice(1), C: c.slice(1) },
    });
  });

  it('--resume-scan-limit: a resume whose Redis read would pass the limit gets RESUME_UNAVAILABLE and a snapshot for every symbol it reads', async () => {
    // One tick of history per symbol: every since below is read from Redis.
    const gw = await fx.gateway(['--resume-scan-limit', '1000', '--history-per-symbol', '1']);
    const ids = await xaddTicks(fx.producer, 'ticks', ['S1', 'S2'], 2000);
    await publishedThrough(fx.producer, ids[1999]);
    const within = fx.keep(await TestClient.connect(gw.url));
    // 499 entries after ids[1500]: within the limit, replayed exactly.
    const ok = await within.request({ op: 'subscribe', symbols: ['S1'], since: { S1: ids[1500] } });
    expect(answerTo(within, ok)).to.deep.equal({
      ack: 'ack', unavailable: [], snapshots: [], replayed: { S1: ids.filter((_, i) => i > 1500 && i % 2 === 0) },
    });
    // S2's since needs 1898 entries read: the request (both symbols) gives up at the limit.
    const over = fx.keep(await TestClient.connect(gw.url));
    const ack = await over.request({ op: 'subscribe', symbols: ['S1', 'S2'], since: { S1: ids[1500], S2: ids[101] } });
    expect(answerTo(over, ack)).to.deep.equal({
      ack: 'ack', unavailable: [['S1', 'S2']], snapshots: [[['S1', ids[1998]], ['S2', ids[1999]]]], replayed: {},
    });
  });

  describe('Redis unreachable', () => {
    afterEach(() => {
      // A stopped redis-server cannot be stopped by the fixture: let it run again first.
      fx.redis.child.kill('SIGCONT');
    });

    it('refuses a resume that must read Redis with INTERNAL while Redis is down, subscribes nothing, and serves the same request once it is back', async () => {
      // This test restarts Redis on its data: a persistent one in place of the fixture's.
      const dir = mkdtempSync(join(tmpdir(), 'tickgate-catchup-'));
      try {
        await fx.producer.disconnect();
        await fx.redis.stop();
        fx.redis = await privateRedis(undefined, { appendOnlyDir: dir });
        fx.producer = await plainClient(fx.redis.url);
        const gw = await fx.gateway(['--history-per-symbol', '1']);
        const ids = await xaddTicks(fx.producer, 'ticks', ['R'], 20);
        await publishedThrough(fx.producer, ids[19]);
        const client = fx.keep(await TestClient.connect(gw.url));
        const port = fx.redis.port;
        await fx.producer.disconnect();
        await fx.redis.stop();
        await waitUntil('/readyz 503', async () => (await readyStatus(gw.http)) === 503);
        const refused = await client.request({ op: 'subscribe', symbols: ['R'], since: { R: ids[4] } });
        expect(refused).to.deep.equal({ type: 'error', id: refused.id, code: 'INTERNAL',
          message: 'snapshot or resume failed: the gateway cannot reach Redis; retry later' });
        expect(await client.request({ op: 'subscriptions' })).to.deep.include({ symbols: [] });
        expect(await metricValue(gw.http, 'tickgate_subscriptions'), 'subscriptions counted after the refusal').to.equal(0);
        expect(client.frames).to.deep.equal([]);
        fx.redis = await privateRedis(port, { appendOnlyDir: dir });
        fx.producer = await plainClient(fx.redis.url);
        await waitUntil('/readyz 200', async () => (await readyStatus(gw.http)) === 200, 15_000);
        const ack = await client.request({ op: 'subscribe', symbols: ['R'], since: { R: ids[4] } });
        expect(answerTo(client, ack)).to.deep.equal({ ack: 'ack', unavailable: [], snapshots: [], replayed: { R: ids.slice(5) } });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('answers a resume whose Redis read hangs (redis-server stopped) after --resume-timeout-ms with RESUME_UNAVAILABLE and a snapshot', async () => {
      const resumeTimeoutMs = 1000;
      const gw = await fx.gateway(['--history-per-symbol', '1', '--resume-timeout-ms', String(resumeTimeoutMs)]);
      const ids = await xaddTicks(fx.producer, 'ticks', ['R'], 20);
      await publishedThrough(fx.producer, ids[19]);
      const client = fx.keep(await TestClient.connect(gw.url));
      fx.redis.child.kill('SIGSTOP');
      const sent = Date.now();
      const ack = await client.request({ op: 'subscribe', symbols: ['R'], since: { R: ids[4] } });
      const waited = Date.now() - sent;
      expect(answerTo(client, ack)).to.deep.equal({ ack: 'ack', unavailable: [['R']], snapshots: [[['R', ids[19]]]], replayed: {} });
      // The resume's deadline, plus 1 s of margin for a loaded machine.
      expect(waited).to.be.within(resumeTimeoutMs, resumeTimeoutMs + 1000);
      fx.redis.child.kill('SIGCONT');
      const again = fx.keep(await TestClient.connect(gw.url));
      const ok = await again.request({ op: 'subscribe', symbols: ['R'], since: { R: ids[4] } });
      expect(answerTo(again, ok)).to.deep.equal({ ack: 'ack', unavailable: [], snapshots: [], replayed: { R: ids.slice(5) } });
    });
  });
});
