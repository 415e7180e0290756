import { expect } from 'chai';
import { reconnectDelay } from '../../src/client/backoff';
import { ClientEvents, ClientOptions } from '../../src/client/client';
import { connect, TickgateClient, TickgateError } from '../../src/client/node';
import { CLOSE_CODES } from '../../src/protocol/codes';
import { encodeFrame } from '../../src/wire/frame-encode';
import { fakeWebSocket, FakeSocket } from '../helpers/fake-socket';
import { thrown } from '../helpers/thrown';

const A = 'ws://a.test/v1/stream';
const B = 'wss://b.test/v1/stream';
const C = 'ws://c.test:9001/v1/stream?token=t';
/** Reconnects on the next turn of the event loop: the tests wait for the new socket, never for a time. */
const AT_ONCE = { initialDelayMs: 0, maxDelayMs: 0 };
/** A backoff no test waits out: a socket that appears within milliseconds was opened without it. */
const SLOW = { initialDelayMs: 10_000, maxDelayMs: 10_000 };

function ticksFrame(sym: string, ids: string[], prev?: string, kind: 'live' | 'replay' = 'live'): string {
  const ticks = ids.map((id) => ({ id, ts: Number(id.split('-')[0]), px: '1.5', sz: '2' }));
  return encodeFrame('json', { sym, ticks, ...(prev !== undefined && { prev }) }, 1000, kind) as string;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('client SDK: failover over a list of gateway URLs (in-memory sockets)', () => {
  let fake: ReturnType<typeof fakeWebSocket>;
  let client: TickgateClient | undefined;
  let reconnecting: ClientEvents['reconnecting'][];

  function start(urls: string | string[], reconnect: ClientOptions['reconnect'] = AT_ONCE): FakeSocket {
    fake = fakeWebSocket();
    client = connect(urls, { reconnect, WebSocket: fake.WebSocket });
    reconnecting = [];
    client.on('reconnecting', (...args) => reconnecting.push(args));
    return fake.last();
  }

  /** Opens `socket` and acks the resubscription it carries, if any: the connection then serves the application. */
  function openAndRestore(socket: FakeSocket): void {
    socket.open();
    if (socket.sent.length > 0) socket.ackLast();
  }

  /** Drops the newest socket with `code` and waits for the client to open the next one. */
  async function dropAndWait(code: number): Promise<FakeSocket> {
    const count = fake.sockets.length;
    fake.last().drop(code);
    await until(() => fake.sockets.length === count + 1);
    return fake.last();
  }

  afterEach(() => {
    client?.close();
    client = undefined;
  });

  describe('the URL list', () => {
    it('rejects an empty list, a non-string, a relative URL and any scheme but ws and wss with INVALID_URL, naming the entry, and opens nothing', () => {
      fake = fakeWebSocket();
      const cases: [unknown, string][] = [
        [[], 'connect() needs a gateway URL or a non-empty array of them'],
        [undefined, 'connect() needs a gateway URL or a non-empty array of them'],
        ['', 'gateway URL "" is not an absolute URL'],
        ['/v1/stream', 'gateway URL "/v1/stream" is not an absolute URL'],
        ['http://a.test/v1/stream', 'gateway URL "http://a.test/v1/stream" is not ws:// or wss://'],
        [[A, 'https://b.test/v1/stream'], 'gateway URL #2 "https://b.test/v1/stream" is not ws:// or wss://'],
        [[A, B, 42], 'gateway URL #3 is a number, not a string'],
      ];
      for (const [urls, message] of cases) {
        const err = thrown(() => connect(urls as string[], { WebSocket: fake.WebSocket }));
        expect(err, message).to.be.instanceOf(TickgateError);
        expect([(err as TickgateError).code, err.message]).to.deep.equal(['INVALID_URL', message]);
      }
      expect(fake.sockets).to.deep.equal([]);
    });

    it('takes one URL as a string or as a list of one, and asks each gateway for the format, keeping the URL\'s own query', () => {
      for (const urls of [C, [C]]) {
        const socket = start(urls);
        expect(socket.url).to.equal('ws://c.test:9001/v1/stream?token=t&format=json&compression=none');
        expect(client!.url).to.equal(C);
        client!.close();
      }
    });

    it('connects to the first URL of a list first', () => {
      const socket = start([B, A, C]);
      expect([socket.url, client!.url]).to.deep.equal(['wss://b.test/v1/stream?format=json&compression=none', B]);
    });
  });

  describe('rotation', () => {
    it('reconnects to the next URL after each drop or failed connect, back to the first after the last; reconnecting and url name it', async () => {
      start([A, B, C]);
      const urls: string[] = [];
      fake.last().drop(1006); // the connect failed
      urls.push(client!.url);
      await until(() => fake.sockets.length === 2);
      openAndRestore(fake.last());
      await dropAndWait(1001);
      urls.push(client!.url);
      fake.last().open();
      await dropAndWait(CLOSE_CODES.SLOW_CONSUMER);
      urls.push(client!.url);
      expect(urls).to.deep.equal([B, C, A]);
      expect(fake.sockets.map((s) => s.url.split('?')[0])).to.deep.equal([A, B, 'ws://c.test:9001/v1/stream', A]);
      expect(reconnecting).to.deep.equal([[1, 0, B], [1, 0, C], [1, 0, A]]);
    });

    it('with one URL reconnects to that URL', async () => {
      start(A);
      await dropAndWait(1006);
      await dropAndWait(1006);
      expect(fake.sockets.map((s) => s.url)).to.deep.equal(Array(3).fill(`${A}?format=json&compression=none`));
      expect(reconnecting).to.deep.equal([[1, 0, A], [2, 0, A]]);
    });

    it('counts failed connects across URLs until one restores the subscriptions, and stays on that one', async () => {
      start([A, B, C]);
      client!.subscribe(['X']).catch(() => undefined);
      await dropAndWait(1006);
      await dropAndWait(1006);
      expect(client!.url).to.equal(C);
      openAndRestore(fake.last());
      await dropAndWait(1006);
      expect(reconnecting).to.deep.equal([[1, 0, B], [2, 0, C], [1, 0, A]]);
    });

    it('rotates after its own close for a resubscription refused with a transient error', async () => {
      const a = start([A, B]);
      client!.subscribe(['X']).catch(() => undefined);
      a.open();
      a.refuseLast('CAPACITY_EXCEEDED');
      expect(a.closeCalls).to.deep.equal([[CLOSE_CODES.INTERNAL_ERROR, 'resubscription failed; reconnecting']]);
      await dropAndWait(CLOSE_CODES.INTERNAL_ERROR);
      expect(reconnecting).to.deep.equal([[1, 0, B]]);
      expect(fake.last().url.startsWith(B)).to.equal(true);
    });
  });

  describe('backoff over a list', () => {
    it('steps once per full round of URLs, with equal jitter in [cap/2, cap], capped at maxDelayMs', () => {
      const options = { initialDelayMs: 100, maxDelayMs: 1000 };
      const low = (attempt: number, urls: number) => reconnectDelay(attempt, urls, options, () => 0);
      const high = (attempt: number, urls: number) => reconnectDelay(attempt, urls, options, () => 1);
      expect([0, 1, 2, 3, 4, 5, 6].map((a) => high(a, 3))).to.deep.equal([100, 100, 100, 200, 200, 200, 400]);
      expect([0, 1, 2, 3, 4, 5, 6].map((a) => low(a, 3))).to.deep.equal([50, 50, 50, 100, 100, 100, 200]);
      expect([0, 1, 2, 3, 4].map((a) => high(a, 1))).to.deep.equal([100, 200, 400, 800, 1000]);
      expect([high(50, 2), low(50, 2), reconnectDelay(50, 2, options, () => 0.5)]).to.deep.equal([1000, 500, 750]);
    });

    it('delays each reconnect within the bounds of its round, up to the cap, as connects to two URLs keep failing', async () => {
      start([A, B], { initialDelayMs: 4, maxDelayMs: 10 });
      for (let i = 0; i < 7; i++) await dropAndWait(1006);
      const caps = [4, 4, 8, 8, 10, 10, 10];
      expect(reconnecting.map(([attempt]) => attempt)).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
      expect(reconnecting.map(([, , url]) => url)).to.deep.equal([B, A, B, A, B, A, B]);
      const outside = reconnecting.filter(([, delay], i) => delay < caps[i] / 2 || delay > caps[i]);
      expect(outside).to.deep.equal([]);
    });
  });

  describe('drain (close 4007)', () => {
    it('goes to the next URL at once, counts no failure, and resumes there with since', async () => {
      const a = start([A, B], SLOW);
      client!.subscribe(['X', 'Y']).catch(() => undefined);
      openAndRestore(a);
      a.receive(ticksFrame('X', ['5-0', '5-1']));
      a.receive(ticksFrame('Y', ['7-0']));
      a.drop(CLOSE_CODES.DRAINING, 'gateway draining; reconnect to another instance now');
      expect([reconnecting, client!.url]).to.deep.equal([[[0, 0, B]], B]);
      await pause(20);
      expect(fake.sockets).to.have.length(2);
      const b = fake.last();
      b.open();
      expect(b.url).to.equal(`${B}?format=json&compression=none`);
      expect(b.sent).to.deep.equal([{ op: 'subscribe', id: 2, symbols: ['X', 'Y'], since: { X: '5-1', Y: '7-0' } }]);
      b.ackLast();
      b.drop(1006);
      expect(reconnecting.slice(1).map(([attempt, , url]) => [attempt, url])).to.deep.equal([[1, A]]);
      expect(reconnecting[1][1]).to.be.within(5000, 10_000);
    });

    it('counts a drain before the subscriptions were restored as a failure, with backoff, so a drain cannot loop without delay', () => {
      const a = start([A, B], SLOW);
      client!.subscribe(['X']).catch(() => undefined);
      a.open(); // the resubscription is not acked yet
      a.drop(CLOSE_CODES.DRAINING);
      expect(reconnecting.map(([attempt, , url]) => [attempt, url])).to.deep.equal([[1, B]]);
      expect(reconnecting[0][1]).to.be.within(5000, 10_000);
    });

    it('goes at once from a connection with nothing to restore too', () => {
      const a = start([A, B], SLOW);
      a.open();
      a.drop(CLOSE_CODES.DRAINING);
      expect(reconnecting).to.deep.equal([[0, 0, B]]);
    });

    it('with reconnect: false closes for good', async () => {
      const a = start([A, B], false);
      a.open();
      a.drop(CLOSE_CODES.DRAINING);
      expect(reconnecting).to.deep.equal([]);
      const err = await client!.subscribe(['X']).catch((e: TickgateError) => e);
      expect((err as TickgateError).code).to.equal('CLOSED');
    });
  });

  describe('resume on another instance', () => {
    it('carries the held ids to the next URL as since, and drops what that instance replays twice', async () => {
      const a = start([A, B]);
      client!.subscribe(['X']).catch(() => undefined);
      openAndRestore(a);
      a.receive(ticksFrame('X', ['5-0', '6-0'], '4-0'));
      const delivered: string[] = [];
      const gaps: unknown[] = [];
      client!.on('ticks', (f) => delivered.push(...f.ticks.map((t) => t.id)));
      client!.on('gap', (g) => gaps.push(g));
      const b = await dropAndWait(1006); // SIGKILL: no close frame
      b.open();
      expect(b.sent).to.deep.equal([{ op: 'subscribe', id: 2, symbols: ['X'], since: { X: '6-0' } }]);
      b.receive(ticksFrame('X', ['7-0', '8-0'], '6-0', 'replay'));
      b.ackLast();
      b.receive(ticksFrame('X', ['8-0', '9-0'], '7-0'));
      expect([delivered, gaps, client!.duplicatesDropped]).to.deep.equal([['7-0', '8-0', '9-0'], [], 1]);
    });
  });
});
