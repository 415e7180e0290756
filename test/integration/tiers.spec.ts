/**
 * Subscription tiers against a real gateway and Redis (issue 16's proofs): a rate tier's frames are at most
 * `maxRate` per second, chained and ending with the last tick; the delayed tier delivers every tick, none early,
 * and a token entitled to delayed data only never receives a real-time tick by any request; quiet symbols are named
 * in heartbeats; each tier's frame is encoded once, whatever its number of subscribers.
 */
import { expect } from 'chai';
import { SignJWT } from 'jose';
import { setTimeout as sleep } from 'node:timers/promises';
import { fixture } from '../helpers/stack';
import { GatewayProcess, metricValue, waitUntil } from '../helpers/gateway';
import { PlainRedis, tickFields } from '../helpers/redis';
import { bearer, connectWith } from '../helpers/upgrade';
import { Reply, TestClient } from '../helpers/ws-client';

const SECRET = 'tiers-spec-hs256-secret-of-at-least-32-bytes-long';
const DELAY_S = 2;

const idMs = (id: string) => Number(id.split('-')[0]);

/** XADDs ticks of `sym` at `perSecond` for `seconds`, in slots of 10 ms; resolves with the ids in stream order. */
async function writeAtRate(producer: PlainRedis, sym: string, perSecond: number, seconds: number): Promise<string[]> {
  const ids: string[] = [];
  const perSlot = perSecond / 100;
  const start = Date.now();
  for (let slot = 0; slot < seconds * 100; slot++) {
    const batch = Array.from({ length: perSlot }, (_, k) => producer.xAdd('ticks', '*', tickFields(sym, slot * perSlot + k)));
    ids.push(...(await Promise.all(batch)));
    const wait = start + (slot + 1) * 10 - Date.now();
    if (wait > 0) await sleep(wait);
  }
  return ids;
}

/** Every tick a client received, in data frames and snapshots, with the time it arrived. */
function receivedTicks(c: TestClient): { id: string; at: number }[] {
  const out: { id: string; at: number }[] = [];
  for (const f of c.frames) for (const id of f.ids) out.push({ id, at: f.at });
  c.replies.forEach((r, i) => {
    if (r.type === 'snapshot') for (const t of r.ticks as { id: string }[]) out.push({ id: t.id, at: c.replyAt[i] });
  });
  return out;
}

/** Ticks that arrived sooner than `delayS` after their id's time: none may, on the delayed tier. */
function early(c: TestClient, delayS: number): { id: string; at: number }[] {
  return receivedTicks(c).filter((t) => t.at < idMs(t.id) + delayS * 1000);
}

describe('subscription tiers (real gateway, real Redis)', function () {
  this.timeout(60_000);
  const fx = fixture('all');
  let gw: GatewayProcess;
  before(async () => {
    gw = await fx.gateway(['--delay-s', String(DELAY_S), '--quiet-heartbeat-s', '1']);
  });
  const client = async () => fx.keep(await TestClient.connect(gw.url));

  it('maxRate 4: 400 ticks/s for 4 s reach a 4/s client as 12–19 chained conflated frames ending with the last tick; a full-rate client gets every tick', async () => {
    const full = await client();
    const rated = await Promise.all(Array.from({ length: 10 }, client));
    expect(await full.request({ op: 'subscribe', symbols: ['RATE-1'] })).to.include({ type: 'ack' }).and.not.have.property('maxRate');
    for (const c of rated) {
      const ack = await c.request({ op: 'subscribe', symbols: ['RATE-1'], maxRate: 4 });
      expect(ack).to.include({ type: 'ack', maxRate: 4 });
    }
    const published = () => metricValue(gw.http, 'tickgate_tier_frames_published_total', { tier: '4/s' });
    const before = await published();

    const written = await writeAtRate(fx.producer, 'RATE-1', 400, 4);
    await waitUntil('the full-rate client has every tick', () => full.idsOf('RATE-1').length >= written.length, 10_000);
    await waitUntil('the 4/s client holds the last tick', () => rated[0].idsOf('RATE-1').at(-1) === written.at(-1), 5000);
    await sleep(600); // nothing more may come: the last tick is out

    expect(full.idsOf('RATE-1')).to.deep.equal(written);
    const frames = rated[0].frames;
    expect(frames.length, 'frames at 4/s over 4 s').to.be.within(12, 19);
    for (let i = 0; i < frames.length; i++) {
      expect(frames[i].kind).to.equal('conflated');
      expect(frames[i].ids).to.have.length(1);
      expect(written, 'a tick written').to.include(frames[i].ids[0]);
      if (i > 0) expect(frames[i].prev, `frame ${i} continues the chain`).to.equal(frames[i - 1].ids[0]);
      if (i >= 4) expect(frames[i].sent - frames[i - 4].sent, 'five frames span at least a second').to.be.at.least(990);
    }
    expect(frames.at(-1)!.ids[0]).to.equal(written.at(-1));
    for (const c of rated) expect(c.frames.map((f) => f.ids[0]), 'every 4/s client got the same frames').to.deep.equal(frames.map((f) => f.ids[0]));
    // Ten subscribers, one format: each frame was encoded and published once.
    expect(await published() - before, 'frames published on the 4/s tier').to.equal(frames.length);
  });

  it('--delay-s 2: a delayed client receives every tick exactly, in order, none sooner than 2 s after its id\'s time', async () => {
    const delayed = await client();
    const ack = await delayed.request({ op: 'subscribe', symbols: ['DLY-1'], delayed: true });
    expect(ack).to.include({ type: 'ack', delayed: true }).and.not.have.property('maxRate');
    const written = await writeAtRate(fx.producer, 'DLY-1', 100, 2);
    // A client joining later resumes on the delayed tier from a delayed position it was given.
    await waitUntil('half is delivered', () => delayed.idsOf('DLY-1').length >= written.length / 2, 8000);
    const since = delayed.idsOf('DLY-1')[50];
    const resumed = await client();
    await resumed.request({ op: 'subscribe', symbols: ['DLY-1'], delayed: true, since: { 'DLY-1': since } });

    await waitUntil('every tick is delivered', () => delayed.idsOf('DLY-1').length >= written.length, 8000);
    await waitUntil('the resumed client has caught up', () => resumed.idsOf('DLY-1').at(-1) === written.at(-1), 5000);
    expect(delayed.idsOf('DLY-1')).to.deep.equal(written);
    expect(resumed.idsOf('DLY-1')).to.deep.equal(written.slice(written.indexOf(since) + 1));
    expect(early(delayed, DELAY_S), 'ticks delivered early').to.deep.equal([]);
    expect(early(resumed, DELAY_S), 'ticks replayed early').to.deep.equal([]);
    expect(delayed.frames.every((f) => f.kind === 'live')).to.equal(true);
  });

  it('--quiet-heartbeat-s 1: a subscribed symbol without ticks is named in a heartbeat within 3 s, with the last id published; a busy one is not', async () => {
    const c = await client();
    const [last] = await Promise.all([fx.producer.xAdd('ticks', '*', tickFields('QUIET-2', 1))]);
    await c.request({ op: 'subscribe', symbols: ['QUIET-1', 'QUIET-2', 'BUSY-1'] });
    const start = Date.now();
    const busy = (async () => {
      while (Date.now() - start < 3500) {
        await fx.producer.xAdd('ticks', '*', tickFields('BUSY-1', 1));
        await sleep(50);
      }
    })();
    const beat = await c.reply((r) => r.type === 'heartbeat' && (r.quiet as Record<string, unknown>)['QUIET-1'] !== undefined, 3000);
    expect(c.replyAt[c.replies.indexOf(beat)] - start, 'ms from subscribe to the heartbeat').to.be.below(3000);
    await busy;
    const quiet = beat.quiet as Record<string, string | null>;
    expect(quiet['QUIET-1']).to.equal(null);
    expect(quiet).to.not.have.property('BUSY-1');
    // QUIET-2 ticked once, before this client subscribed: named with that id once its topic has carried it, or null.
    if (quiet['QUIET-2'] !== undefined) expect([last, null]).to.include(quiet['QUIET-2']);
    expect(c.replies.filter((r) => r.type === 'heartbeat').every((r) => !('BUSY-1' in (r.quiet as object)))).to.equal(true);
  });
});

describe('subscription tiers: a token entitled to delayed data only', function () {
  this.timeout(60_000);
  const fx = fixture('all');
  let gw: GatewayProcess;
  before(async () => {
    gw = await fx.gateway(['--delay-s', String(DELAY_S), '--auth-hs256-secret', SECRET]);
  });
  const token = (claims: Record<string, unknown>) =>
    new SignJWT({ sub: 'viewer', symbols: ['*'], exp: Math.floor(Date.now() / 1000) + 600, ...claims })
      .setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
  const connect = async (claims: Record<string, unknown>) => fx.keep(await connectWith(gw.url, { headers: bearer(await token(claims)) }));

  it('cannot obtain real-time data by any request form: real-time subscribes are FORBIDDEN, everything else stays delayed', async () => {
    const c = await connect({ realtime: false });
    const writing = writeAtRate(fx.producer, 'ENT-1', 100, 5);
    await sleep(500);
    for (const form of [{}, { maxRate: 4 }, { delayed: false }, { delayed: false, maxRate: 10 }, { snapshot: true }]) {
      const r: Reply = await c.request({ op: 'subscribe', symbols: ['ENT-1'], ...form });
      expect(r, JSON.stringify(form)).to.include({ type: 'error', code: 'FORBIDDEN' });
      expect(r.message).to.contain('delayed data only');
    }
    const newest = (await fx.producer.xRevRange('ticks', '+', '-', { COUNT: 1 }))[0].id;
    expect(await c.request({ op: 'subscribe', symbols: ['ENT-1'], delayed: true, snapshot: true })).to.include({ type: 'ack', delayed: true });
    expect(await c.request({ op: 'subscribe', symbols: ['ENT-2'], delayed: true, maxRate: 4, since: { 'ENT-2': newest } }))
      .to.include({ type: 'ack', delayed: true, maxRate: 4 });
    expect(await c.request({ op: 'snapshot', symbols: ['ENT-1', 'ENT-2'] })).to.include({ type: 'ack' });
    expect(await c.request({ op: 'pause' })).to.include({ type: 'ack' });
    expect(await c.request({ op: 'resume' })).to.include({ type: 'ack' });
    const written = await writing;
    await sleep(DELAY_S * 1000 + 500);
    expect(early(c, DELAY_S), 'ticks that arrived before their delay').to.deep.equal([]);
    expect(c.idsOf('ENT-1').at(-1), 'the delayed tier kept flowing').to.equal(written.at(-1));

    // The same gateway serves real time to a token without the restriction.
    const rt = await connect({});
    expect(await rt.request({ op: 'subscribe', symbols: ['ENT-1'] })).to.include({ type: 'ack' });
  });
});
