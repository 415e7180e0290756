/**
 * Fault: the gateway is SIGKILLed while clients hold positions, the stream grows while it is down, and every client
 * resumes with `since` at once when it is back. Each must be answered within 5 s, with exactly the ticks XRANGE holds
 * after its `since`: none missing, none twice, in order.
 */
import { expect } from 'chai';
import { waitUntil } from '../helpers/gateway';
import { PlainRedis, xaddTicks } from '../helpers/redis';
import { fixture } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';
import { compareStreamIds } from '../../src/wire/tick';

const STREAM = 'ticks';
const SYMBOLS = 100;
const CLIENTS = 20;
const PER_CLIENT = 10;
/** Entries written before the kill and again while the gateway is down: a 150,000-entry stream in all. */
const HALF = 75_000;
/** The target: every resuming client answered within this long after the gateway serves again. */
const ANSWERED_WITHIN_MS = 5000;

/** Pipelined XADDs in MULTI batches: 150,000 entries in a few seconds. */
async function fill(c: PlainRedis, count: number, offset: number): Promise<void> {
  for (let start = 0; start < count; start += 2000) {
    const batch = c.multi();
    for (let k = 0; k < Math.min(2000, count - start); k++) {
      const i = offset + start + k;
      batch.xAdd(STREAM, '*', { sym: `S${i % SYMBOLS}`, px: (100 + (i % 1000) / 100).toFixed(2), sz: '1', ts: String(Date.now()) });
    }
    await batch.exec();
  }
}

describe('fault: gateway SIGKILL and restart with 20 clients resuming over a 150,000-entry stream', function () {
  this.timeout(60_000);
  const fx = fixture('all');
  const gateway = () => fx.gateway(['--stream', STREAM, '--workers', '2'], false);

  it('answers every client within 5 s, each with exactly the ticks after its since', async () => {
    await fill(fx.producer, HALF, 0);
    const first = await fx.gateway(['--stream', STREAM, '--workers', '2']);
    const symbolsOf = (i: number) => Array.from({ length: PER_CLIENT }, (_, j) => `S${(i * PER_CLIENT + j) % SYMBOLS}`);
    const held: Record<string, string>[] = [];
    const before: TestClient[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const c = fx.keep(await TestClient.connect(first.url));
      before.push(c);
      const ack = await c.request({ op: 'subscribe', symbols: symbolsOf(i), snapshot: true }, 10_000);
      expect(ack.type).to.equal('ack');
      const snapshot = c.replies.find((r) => r.type === 'snapshot') as unknown as { ticks: { sym: string; id: string }[] };
      expect(snapshot.ticks.map((t) => t.sym).sort()).to.deep.equal(symbolsOf(i).sort());
      held.push(Object.fromEntries(snapshot.ticks.map((t) => [t.sym, t.id])));
    }
    first.child.kill('SIGKILL');
    await first.exited;
    for (const c of before) c.close();

    await fill(fx.producer, HALF, HALF);
    expect(await fx.producer.xLen(STREAM)).to.equal(2 * HALF);
    const second = await gateway();
    const serving = Date.now();
    const resumed = await Promise.all(held.map(async () => fx.keep(await TestClient.connect(second.url))));
    // Clients resume the moment the gateway serves, before its reader has set up its group: their resumes wait for it.
    const answeredAfter = await Promise.all(resumed.map(async (c, i) => {
      const r = await c.request({ op: 'subscribe', symbols: symbolsOf(i), since: held[i] }, ANSWERED_WITHIN_MS);
      expect(r.type, JSON.stringify(r)).to.equal('ack');
      return Date.now() - serving;
    }));
    expect(Math.max(...answeredAfter), 'slowest answer (ms)').to.be.at.most(ANSWERED_WITHIN_MS);
    expect(resumed.flatMap((c) => c.replies.filter((r) => r.code === 'RESUME_UNAVAILABLE'))).to.deep.equal([]);

    // The backlog written while the gateway was down reaches the clients live after their replay: wait for its end.
    const all = await fx.producer.xRange(STREAM, '-', '+');
    const lastOf = new Map(all.map((e) => [e.message.sym, e.id]));
    await waitUntil('every client has its symbols up to the stream end', () =>
      resumed.every((c, i) => symbolsOf(i).every((sym) => c.idsOf(sym).at(-1) === lastOf.get(sym))), 20_000);
    resumed.forEach((c, i) => {
      for (const sym of symbolsOf(i)) {
        const want = all.filter((e) => e.message.sym === sym && compareStreamIds(e.id, held[i][sym]) > 0).map((e) => e.id);
        expect(c.idsOf(sym), `client ${i} ${sym}`).to.deep.equal(want);
      }
    });
  });

  it('answers a since beyond what it has published with RESUME_UNAVAILABLE and the latest tick, never a silent ack', async () => {
    await fx.killGateways();
    const g = await fx.gateway(['--stream', STREAM, '--workers', '2']);
    const c = fx.keep(await TestClient.connect(g.url));
    const ack = await c.request({ op: 'subscribe', symbols: ['S7'], since: { S7: '99999999999999-0' } });
    expect(ack.type).to.equal('ack');
    expect(c.replies.find((r) => r.code === 'RESUME_UNAVAILABLE')).to.include({ id: ack.id }).and.have.deep.property('symbols', ['S7']);
    const latest = (await fx.producer.xRevRange(STREAM, '+', '-', { COUNT: 2 * SYMBOLS })).find((e) => e.message.sym === 'S7')!.id;
    const snapshot = c.replies.find((r) => r.type === 'snapshot') as unknown as { ticks: { sym: string; id: string }[] };
    expect(snapshot.ticks.map((t) => [t.sym, t.id])).to.deep.equal([['S7', latest]]);
    expect(c.frames).to.deep.equal([]);
  });

  it('stops reading the stream for a resume once its client has disconnected', async () => {
    await fx.killGateways();
    const stream = 'cancel';
    // 1,000 entries a second: the 20,000-entry pass below would take 20 s, a page every 0.5 s.
    const g = await fx.gateway(['--stream', stream, '--workers', '1', '--catchup-scan-rate', '1000', '--resume-timeout-ms', '600000']);
    const syms = Array.from({ length: 10 }, (_, k) => `C${k}`);
    const ids = await xaddTicks(fx.producer, stream, syms, 20_000);
    await waitUntil('all published', async () => {
      const groups = (await fx.producer.sendCommand(['XINFO', 'GROUPS', stream])) as unknown[][];
      return groups[0][groups[0].indexOf('last-delivered-id') + 1] === ids[ids.length - 1];
    }, 20_000);
    const xranges = async () => Number(/cmdstat_xrange:calls=(\d+)/.exec(await fx.producer.info('commandstats'))?.[1] ?? 0);
    const before = await xranges();
    const c = await TestClient.connect(g.url);
    c.send({ op: 'subscribe', id: 1, symbols: syms, since: Object.fromEntries(syms.map((sym) => [sym, ids[0]])) });
    await waitUntil('the resume is reading', async () => (await xranges()) >= before + 2, 10_000, 100);
    c.close();
    await c.closed;
    await new Promise((r) => setTimeout(r, 500));
    const afterClose = await xranges();
    await new Promise((r) => setTimeout(r, 2500));
    expect(await xranges(), 'XRANGE calls in the 2.5 s after the client left').to.equal(afterClose);
    expect(c.replies).to.deep.equal([]);
  });
});

