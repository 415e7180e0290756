import { expect } from 'chai';
import { ClientEvents, GapEvent } from '../../src/client/client';
import { connect, TickgateClient } from '../../src/client/node';
import { encodeFrame } from '../../src/wire/frame-encode';
import { FrameKind } from '../../src/wire/tick';
import { fakeWebSocket, FakeSocket } from '../helpers/fake-socket';

/** Reconnects on the next turn of the event loop: the tests wait for the new socket, never for a time. */
const AT_ONCE = { initialDelayMs: 0, maxDelayMs: 0 };

function ticksFrame(sym: string, ids: string[], prev?: string, kind: FrameKind = 'live'): string {
  const ticks = ids.map((id) => ({ id, ts: Number(id.split('-')[0]), px: '1.5', sz: '2' }));
  return encodeFrame('json', { sym, ticks, ...(prev !== undefined && { prev }) }, 1000, kind) as string;
}

function snapshotMessage(ticks: [string, string][]): object {
  return { type: 'snapshot', id: null, position: '99-0', ticks: ticks.map(([sym, id]) => ({ sym, id, ts: 1, px: '1', sz: '1' })) };
}

/** Records every event of `names`, in order, with its arguments. */
function record(client: TickgateClient, ...names: (keyof ClientEvents)[]): [string, ...unknown[]][] {
  const log: [string, ...unknown[]][] = [];
  for (const name of names) client.on(name, (...args: unknown[]) => log.push([name, ...args]));
  return log;
}

/** How a promise stands once every callback already queued has run. */
async function state(p: Promise<unknown>): Promise<string> {
  const settled = p.then(
    () => 'resolved',
    (e: { code?: string }) => `rejected ${e.code}`,
  );
  return Promise.race([settled, new Promise<string>((resolve) => setImmediate(() => resolve('pending')))]);
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** For a request whose outcome the test does not check: close() in afterEach rejects what is still pending. */
function background(p: Promise<unknown>): void {
  p.catch((e: { code?: string }) => expect(e.code).to.be.oneOf(['CLOSED', 'DISCONNECTED']));
}

function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  return p.then(
    () => expect.fail('expected a rejection'),
    (e: { code: string; message: string }) => e,
  );
}

describe('client SDK: requests and connection lifecycle (in-memory socket)', () => {
  let fake: ReturnType<typeof fakeWebSocket>;
  let client: TickgateClient;

  function start(options: Parameters<typeof connect>[1] = {}): FakeSocket {
    fake = fakeWebSocket();
    client = connect('ws://gateway.test/v1/stream', { ...options, WebSocket: fake.WebSocket });
    return fake.last();
  }

  /** Opens `socket` and acks the resubscription it carries, if any. */
  function openAndRestore(socket: FakeSocket): void {
    socket.open();
    if (socket.sent.length > 0) socket.ackLast();
  }

  afterEach(() => client.close());

  describe('connecting', () => {
    it('asks for JSON without compression by default and takes binary data as ArrayBuffers', () => {
      const socket = start();
      expect(socket.url).to.equal('ws://gateway.test/v1/stream?format=json&compression=none');
      expect(socket.binaryType).to.equal('arraybuffer');
    });

    it('is not open, unpaused and in full mode before the connection opens', () => {
      const socket = start();
      expect([client.isOpen, client.paused, client.mode]).to.deep.equal([false, false, 'full']);
      socket.open();
      expect(client.isOpen).to.equal(true);
    });

    it('sends a subscribe queued before the first open as it was asked, and settles it with that ack', async () => {
      const socket = start();
      const plain = client.subscribe(['A']);
      socket.open();
      expect(socket.sent).to.deep.equal([{ op: 'subscribe', id: 1, symbols: ['A'] }]);
      socket.ackLast();
      expect(await state(plain)).to.equal('resolved');
    });

    it('asks for a snapshot on the first open when a queued subscribe did', () => {
      const socket = start();
      background(client.subscribe(['A']));
      background(client.subscribe(['B'], { snapshot: true }));
      socket.open();
      expect(socket.sent).to.deep.equal([{ op: 'subscribe', id: 1, symbols: ['A', 'B'], snapshot: true }]);
    });

    it('on an open connection sends snapshot only when asked', () => {
      const socket = start();
      socket.open();
      background(client.subscribe(['A'], { snapshot: true }));
      background(client.subscribe(['B']));
      expect(socket.sent).to.deep.equal([
        { op: 'subscribe', id: 1, symbols: ['A'], snapshot: true },
        { op: 'subscribe', id: 2, symbols: ['B'] },
      ]);
    });

    it('settles a subscribe undone before the first open without sending anything', async () => {
      const socket = start();
      const subscribed = client.subscribe(['A']);
      expect(await state(client.unsubscribe(['A']))).to.equal('resolved');
      socket.open();
      expect(await state(subscribed)).to.equal('resolved');
      expect(socket.sent).to.deep.equal([]);
    });
  });

  describe('request errors', () => {
    it('keeps the server\'s code and message, and emits no error event for a request someone awaits', async () => {
      const socket = start();
      socket.open();
      const log = record(client, 'error');
      const subscribed = client.subscribe(['A']);
      socket.message({ type: 'error', id: 1, code: 'INVALID_SYMBOL', message: 'invalid symbol A' });
      const err = await errorOf(subscribed);
      expect([err.code, err.message]).to.deep.equal(['INVALID_SYMBOL', 'invalid symbol A']);
      expect(log).to.deep.equal([]);
      expect(client.paused).to.equal(false);
    });

    it('names an error without code or message UNKNOWN, "request failed"', async () => {
      const socket = start();
      socket.open();
      const pinged = client.ping();
      socket.message({ type: 'error', id: 1 });
      const err = await errorOf(pinged);
      expect([err.code, err.message]).to.deep.equal(['UNKNOWN', 'request failed']);
    });

    it('rejects a request refused with a transient error on an established connection, and keeps the connection', async () => {
      const socket = start();
      socket.open();
      const subscribed = client.subscribe(['A']);
      socket.refuseLast('INTERNAL');
      expect((await errorOf(subscribed)).code).to.equal('INTERNAL');
      expect(socket.closeCalls).to.deep.equal([]);
      expect(client.symbols).to.deep.equal([]);
    });

    it('emits an error that answers no pending request as an error event', () => {
      const socket = start();
      socket.open();
      const log = record(client, 'error');
      socket.message({ type: 'error', id: 99, code: 'BAD_REQUEST', message: 'not a request' });
      socket.message({ type: 'error', code: 'RATE_LIMITED', message: 'slow down' });
      expect(log.map(([, e]) => [(e as { code: string }).code, (e as Error).message])).to.deep.equal([
        ['BAD_REQUEST', 'not a request'],
        ['RATE_LIMITED', 'slow down'],
      ]);
    });

    it('leaves the client paused when another request is refused, and when resume() is refused', async () => {
      const socket = start();
      socket.open();
      const paused = client.pause();
      socket.ackLast();
      await paused;
      const subscribed = client.subscribe(['A']);
      socket.refuseLast('INVALID_SYMBOL');
      await errorOf(subscribed);
      expect(client.paused).to.equal(true);
      const resumed = client.resume();
      expect(client.paused).to.equal(false);
      socket.refuseLast('UNKNOWN_OP');
      expect((await errorOf(resumed)).code).to.equal('UNKNOWN_OP');
      expect(client.paused).to.equal(true);
    });

    it('keeps the symbols of a refused unsubscribe forgotten, and only those', async () => {
      const socket = start();
      socket.open();
      const subscribed = client.subscribe(['A', 'B']);
      socket.ackLast();
      await subscribed;
      const unsubscribed = client.unsubscribe(['A']);
      socket.refuseLast('BAD_REQUEST');
      await errorOf(unsubscribed);
      expect(client.symbols).to.deep.equal(['B']);
    });

    it('resolves ping with a round trip no longer than the wait around it', async () => {
      const socket = start();
      socket.open();
      const before = Date.now();
      const pinged = client.ping();
      expect(socket.sent).to.deep.equal([{ op: 'ping', id: 1 }]);
      socket.ackLast();
      const rtt = await pinged;
      expect(rtt).to.be.within(0, Date.now() - before);
    });
  });

  describe('messages that are not data', () => {
    it('reports text that is not JSON, or not a JSON object, as BAD_MESSAGE and goes on', () => {
      const socket = start();
      socket.open();
      const log = record(client, 'error', 'ticks');
      socket.receive('{"type":');
      socket.receive('null');
      socket.receive('42');
      socket.receive(ticksFrame('A', ['1-0']));
      expect(log.map(([name, e]) => (name === 'error' ? [(e as { code: string }).code, (e as Error).message] : name))).to.deep.equal([
        ['BAD_MESSAGE', 'server sent a text frame that is not JSON'],
        ['BAD_MESSAGE', 'server sent a text frame that is not a JSON object'],
        ['BAD_MESSAGE', 'server sent a text frame that is not a JSON object'],
        'ticks',
      ]);
    });

    it('decodes a ticks frame whatever the order of its keys', () => {
      const socket = start();
      socket.open();
      const log = record(client, 'ticks');
      socket.receive(JSON.stringify({ sym: 'A', sent: 5, type: 'ticks', ticks: [{ id: '1-0', ts: 1, px: '1', sz: '1' }] }));
      expect(log).to.deep.equal([['ticks', { sym: 'A', sent: 5, kind: 'live', ticks: [{ id: '1-0', ts: 1, px: '1', sz: '1' }] }]]);
    });

    it('decodes binary frames given as an ArrayBuffer or as a view into a larger buffer', () => {
      const socket = start({ format: 'binary' });
      socket.open();
      const log = record(client, 'ticks', 'error');
      const bytes = encodeFrame('bin', { sym: 'A', ticks: [{ id: '1-0', ts: 1, px: '1', sz: '1' }] }, 5) as Uint8Array;
      const padded = new Uint8Array(bytes.length + 8);
      padded.set(bytes, 4);
      socket.receive(Uint8Array.from(bytes).buffer);
      socket.receive(padded.subarray(4, 4 + bytes.length));
      expect(log.map((e) => e[0])).to.deep.equal(['ticks', 'ticks']);
    });

    it('ignores a message that is neither text nor bytes', () => {
      const socket = start();
      socket.open();
      const log = record(client, 'ticks', 'error');
      socket.receive({ size: 3 });
      expect(log).to.deep.equal([]);
    });

    it('refuses an LZ4 frame that would decompress beyond maxFrameBytes', () => {
      const socket = start({ format: 'binary', compression: 'lz4', maxFrameBytes: 1024 });
      socket.open();
      const log = record(client, 'ticks', 'error');
      const ticks = Array.from({ length: 300 }, (_, i) => ({ id: `1-${i}`, ts: 1, px: '27123.45', sz: '0.01' }));
      socket.receive(encodeFrame('bin+lz4', { sym: 'A', ticks }, 5));
      expect(log.map(([name, e]) => [name, (e as { code?: string }).code])).to.deep.equal([['error', 'TOO_LARGE']]);
    });

    it('reports a malformed gap message with its own message', () => {
      const socket = start();
      socket.open();
      const log = record(client, 'error');
      socket.message({ type: 'gap', stream: 'ticks' });
      expect(log.map(([, e]) => [(e as { code: string }).code, (e as Error).message])).to.deep.equal([['BAD_MESSAGE', 'server sent a malformed gap message']]);
    });

    it('reports RESUME_UNAVAILABLE with the string symbols it carries, and none when it carries no list', () => {
      const socket = start();
      socket.open();
      const log = record(client, 'resumeUnavailable', 'error');
      socket.message({ type: 'error', id: 1, code: 'RESUME_UNAVAILABLE', symbols: ['A', 7, 'B'] });
      socket.message({ type: 'error', id: 1, code: 'RESUME_UNAVAILABLE' });
      expect(log).to.deep.equal([
        ['resumeUnavailable', { symbols: ['A', 'B'] }],
        ['resumeUnavailable', { symbols: [] }],
      ]);
    });
  });

  describe('continuity details', () => {
    it('holds the newest id of a frame even when its ticks are not in order', () => {
      const socket = start();
      socket.open();
      background(client.subscribe(['A']));
      socket.receive(ticksFrame('A', ['12-0', '11-0']));
      expect(client.lastId('A')).to.equal('12-0');
    });

    it('moves held ids forward only from a snapshot, and only for subscribed symbols', () => {
      const socket = start();
      socket.open();
      background(client.subscribe(['A', 'B']));
      socket.receive(ticksFrame('A', ['10-0']));
      socket.message(snapshotMessage([['A', '9-0'], ['B', '8-0'], ['C', '7-0']]));
      expect([client.lastId('A'), client.lastId('B'), client.lastId('C')]).to.deep.equal(['10-0', '8-0', undefined]);
    });

    it('delivers a frame without ticks as it came, checking its prev', () => {
      const socket = start();
      socket.open();
      background(client.subscribe(['A']));
      socket.receive(ticksFrame('A', ['10-0']));
      const log = record(client, 'ticks', 'gap');
      socket.receive(ticksFrame('A', [], '11-0'));
      expect(log).to.deep.equal([
        ['gap', { sym: 'A', expected: '10-0', got: '11-0' }],
        ['ticks', { sym: 'A', sent: 1000, prev: '11-0', kind: 'live', ticks: [] }],
      ]);
      expect(client.lastId('A')).to.equal('10-0');
    });

    it('on a gap message asks for no snapshot when nothing is subscribed, while paused, or while closing', () => {
      const socket = start();
      socket.open();
      const loss = { type: 'gap', stream: 'ticks', after: '1-0', through: '2-0', reason: 'trimmed' };
      socket.message(loss);
      background(client.subscribe(['A']));
      background(client.pause());
      const log = record(client, 'gap');
      socket.message(loss);
      expect(log.map((e) => (e[1] as GapEvent).sym)).to.deep.equal(['A']);
      expect(socket.sent.map((r) => r.op)).to.deep.equal(['subscribe', 'pause']);
      client.close();
      socket.readyState = 2;
      background(client.resume());
      socket.message(loss);
      expect(socket.sent.map((r) => r.op)).to.deep.equal(['subscribe', 'pause']);
    });

    it('settles the snapshot request of a gap message quietly, and emits its refusal as an error', () => {
      const socket = start();
      socket.open();
      background(client.subscribe(['A']));
      socket.ackLast();
      const log = record(client, 'error');
      const loss = { type: 'gap', stream: 'ticks', after: '1-0', through: '2-0', reason: 'trimmed' };
      socket.message(loss);
      expect(socket.sent[1]).to.deep.equal({ op: 'snapshot', id: 2, symbols: ['A'] });
      socket.ackLast();
      socket.message(loss);
      socket.refuseLast('INTERNAL');
      expect(log.map(([, e]) => (e as { code: string }).code)).to.deep.equal(['INTERNAL']);
    });
  });

  describe('disconnected and closed', () => {
    it('resolves unsubscribe at once while disconnected, sending nothing', async () => {
      const socket = start();
      expect(await state(client.unsubscribe(['A']))).to.equal('resolved');
      socket.open();
      expect(socket.sent).to.deep.equal([]);
    });

    it('rejects ping while disconnected with DISCONNECTED', async () => {
      start();
      const err = await errorOf(client.ping());
      expect([err.code, err.message]).to.deep.equal(['DISCONNECTED', 'not connected']);
    });

    it('settles a pause made while disconnected with the pause sent on the next open', async () => {
      const socket = start();
      const paused = client.pause();
      expect(client.paused).to.equal(true);
      socket.open();
      expect(socket.sent).to.deep.equal([{ op: 'pause', id: 1 }]);
      expect(await state(paused)).to.equal('pending');
      socket.ackLast();
      expect(await state(paused)).to.equal('resolved');
    });

    it('settles a pause made while disconnected when resume() undoes it before the next open', async () => {
      const socket = start();
      const paused = client.pause();
      expect(await state(client.resume())).to.equal('resolved');
      expect(await state(paused)).to.equal('resolved');
      socket.open();
      expect(socket.sent).to.deep.equal([]);
    });

    it('rejects every request with CLOSED after close(), and a second close() does nothing', async () => {
      const socket = start();
      socket.open();
      const inFlight = client.ping();
      const queuedPause = client.pause();
      client.close();
      client.close();
      expect(socket.closeCalls).to.deep.equal([[1000, undefined]]);
      const errors = await Promise.all([inFlight, queuedPause, client.subscribe(['A']), client.unsubscribe(['A']), client.pause(), client.resume(), client.ping()].map(errorOf));
      expect(errors.map((e) => [e.code, e.message])).to.deep.equal(Array(7).fill(['CLOSED', 'the client was closed']));
    });

    it('rejects queued requests with CLOSED when close() is called before the first open', async () => {
      start();
      const queued = [client.subscribe(['A']), client.pause()];
      client.close();
      expect((await Promise.all(queued.map(errorOf))).map((e) => e.code)).to.deep.equal(['CLOSED', 'CLOSED']);
    });

    it('emits socket errors, with the error, the message or a default, until close()', () => {
      const socket = start();
      const log = record(client, 'error');
      const boom = new Error('boom');
      socket.onerror?.({ error: boom });
      socket.onerror?.({ message: 'connection refused' });
      socket.onerror?.({});
      client.close();
      socket.onerror?.({ message: 'aborted' });
      expect(log.map(([, e]) => (e as Error).message)).to.deep.equal(['boom', 'connection refused', 'WebSocket error']);
      expect(log[0][1]).to.equal(boom);
    });

    it('after a close that allows no reconnect, rejects what was in flight with DISCONNECTED and the rest with CLOSED', async () => {
      const socket = start({ reconnect: AT_ONCE });
      socket.open();
      const log = record(client, 'close', 'reconnecting');
      const inFlight = [client.subscribe(['A']), client.ping()];
      socket.drop(4501, 'unauthorized');
      const errors = await Promise.all(inFlight.map(errorOf));
      expect(errors.map((e) => [e.code, e.message])).to.deep.equal(Array(2).fill(['DISCONNECTED', 'connection closed (4501) before the server answered']));
      const later = await errorOf(client.subscribe(['B']));
      expect([later.code, later.message]).to.deep.equal(['CLOSED', 'the client was closed']);
      expect(log).to.deep.equal([['close', 4501, 'unauthorized']]);
      expect(client.isOpen).to.equal(false);
    });

    it('names the close code, and the reason if any, in the CLOSED rejection of queued requests', async () => {
      let socket = start({ reconnect: AT_ONCE });
      socket.open();
      socket.drop(1001);
      const queuedWithReason = client.subscribe(['A']);
      await until(() => fake.sockets.length === 2);
      fake.last().drop(4501, 'unauthorized');
      const withReason = await errorOf(queuedWithReason);
      expect([withReason.code, withReason.message]).to.deep.equal(['CLOSED', 'connection closed for good (4501: unauthorized)']);
      socket = start({ reconnect: AT_ONCE });
      socket.drop(1001);
      const queued = client.subscribe(['A']);
      await until(() => fake.sockets.length === 2);
      fake.last().drop(1000);
      expect((await errorOf(queued)).message).to.equal('connection closed for good (1000)');
    });

    it('with reconnect: false, does not reconnect after 1001 and rejects what was in flight with DISCONNECTED', async () => {
      const socket = start({ reconnect: false });
      socket.open();
      const log = record(client, 'reconnecting', 'close');
      const subscribed = client.subscribe(['A']);
      socket.drop(1001, 'going away');
      expect((await errorOf(subscribed)).code).to.equal('DISCONNECTED');
      expect(log).to.deep.equal([['close', 1001, 'going away']]);
    });

    it('does not reconnect when the socket ends after close()', () => {
      const socket = start({ reconnect: AT_ONCE });
      socket.open();
      const log = record(client, 'reconnecting');
      client.close();
      socket.drop(1006);
      expect(log).to.deep.equal([]);
    });
  });

  describe('reconnecting', () => {
    it('uses the default backoff unless told otherwise: the first delay is within [125, 250] ms', () => {
      for (const reconnect of [undefined, true]) {
        const socket = start(reconnect === undefined ? {} : { reconnect });
        const log = record(client, 'reconnecting');
        socket.drop(1006);
        expect(log).to.have.length(1);
        expect(log[0][1]).to.equal(1);
        expect(log[0][2]).to.be.within(125, 250);
        client.close();
      }
    });

    it('uses the given backoff: delays within [cap/2, cap] of a cap that doubles per failed attempt', async () => {
      const socket = start({ reconnect: { initialDelayMs: 4, maxDelayMs: 10 } });
      const log = record(client, 'reconnecting');
      socket.drop(1006);
      await until(() => fake.sockets.length === 2);
      fake.last().drop(1006);
      await until(() => fake.sockets.length === 3);
      fake.last().drop(1006);
      expect(log.map((e) => e[1])).to.deep.equal([1, 2, 3]);
      const [d1, d2, d3] = log.map((e) => e[2] as number);
      expect([d1 >= 2 && d1 <= 4, d2 >= 4 && d2 <= 8, d3 >= 5 && d3 <= 10]).to.deep.equal([true, true, true]);
    });

    it('restarts the backoff once the resubscription is acked, not before', async () => {
      const socket = start({ reconnect: AT_ONCE });
      const log = record(client, 'reconnecting');
      background(client.subscribe(['A']));
      openAndRestore(socket);
      socket.drop(1001);
      await until(() => fake.sockets.length === 2);
      // Open, but the resubscription is unanswered (a ping is): the symbols are not restored yet.
      fake.last().open();
      background(client.ping());
      fake.last().ackLast();
      fake.last().drop(1001);
      await until(() => fake.sockets.length === 3);
      openAndRestore(fake.last());
      fake.last().drop(1001);
      expect(log.map((e) => e[1])).to.deep.equal([1, 2, 1]);
    });

    it('restarts the backoff on an open when there is nothing to restore', async () => {
      const socket = start({ reconnect: AT_ONCE });
      const log = record(client, 'reconnecting');
      socket.drop(1006);
      await until(() => fake.sockets.length === 2);
      fake.last().open();
      fake.last().drop(1001);
      expect(log.map((e) => e[1])).to.deep.equal([1, 1]);
    });

    it('on a transient refusal of the resubscription closes with 4000 and restores on the next connection', async () => {
      const socket = start({ reconnect: AT_ONCE });
      const subscribed = client.subscribe(['A']);
      socket.open();
      socket.refuseLast('CAPACITY_EXCEEDED');
      expect(socket.closeCalls).to.deep.equal([[4000, 'resubscription failed; reconnecting']]);
      expect(await state(subscribed)).to.equal('pending');
      socket.drop(4000);
      await until(() => fake.sockets.length === 2);
      fake.last().open();
      expect(fake.last().sent).to.deep.equal([{ op: 'subscribe', id: 2, symbols: ['A'], snapshot: true }]);
      fake.last().ackLast();
      expect(await state(subscribed)).to.equal('resolved');
    });

    it('resets the mode to full on a new connection', async () => {
      const socket = start({ reconnect: AT_ONCE });
      socket.open();
      socket.message({ type: 'mode', mode: 'conflated', reason: 'slow' });
      expect(client.mode).to.equal('conflated');
      socket.drop(4001);
      expect(client.isOpen).to.equal(false);
      await until(() => fake.sockets.length === 2);
      fake.last().open();
      expect(client.mode).to.equal('full');
    });

    it('settles requests in flight at a drop as the protocol says: subscribe and resume by the resubscription, pause by the pause re-sent, ping and unsubscribe rejected', async () => {
      const socket = start({ reconnect: AT_ONCE });
      openAndRestore(socket);
      const subscribed = client.subscribe(['A', 'B']);
      socket.ackLast();
      await subscribed;
      const inFlight = { subscribe: client.subscribe(['C']), unsubscribe: errorOf(client.unsubscribe(['B'])), ping: errorOf(client.ping()), pause: client.pause() };
      socket.drop(1001);
      await until(() => fake.sockets.length === 2);
      const next = fake.last();
      next.open();
      expect(next.sent).to.deep.equal([
        { op: 'subscribe', id: 6, symbols: ['A', 'C'], snapshot: true },
        { op: 'pause', id: 7 },
      ]);
      expect((await inFlight.unsubscribe).code).to.equal('DISCONNECTED');
      expect((await inFlight.ping).code).to.equal('DISCONNECTED');
      next.message({ type: 'ack', id: 6 });
      expect(await state(inFlight.subscribe)).to.equal('resolved');
      expect(await state(inFlight.pause)).to.equal('pending');
      next.message({ type: 'ack', id: 7 });
      expect(await state(inFlight.pause)).to.equal('resolved');
      const resumed = client.resume();
      next.drop(1001);
      await until(() => fake.sockets.length === 3);
      fake.last().open();
      expect(await state(resumed)).to.equal('pending');
      fake.last().ackLast();
      expect(await state(resumed)).to.equal('resolved');
    });

    it('settles a pause in flight at a drop at once when resume() came after it', async () => {
      const socket = start({ reconnect: AT_ONCE });
      socket.open();
      const paused = client.pause();
      background(client.resume());
      socket.drop(1001);
      expect(await state(paused)).to.equal('resolved');
    });

    it('ignores every event of a connection it has given up on', async () => {
      const old = start({ reconnect: AT_ONCE });
      background(client.subscribe(['A']));
      openAndRestore(old);
      old.drop(1001);
      await until(() => fake.sockets.length === 2);
      openAndRestore(fake.last());
      const log = record(client, 'open', 'ticks', 'error', 'close', 'reconnecting');
      old.onopen?.({});
      old.receive(ticksFrame('A', ['5-0']));
      old.onerror?.({ message: 'late' });
      old.onclose?.({ code: 1006, reason: '' });
      expect(log).to.deep.equal([]);
      expect(client.isOpen).to.equal(true);
      expect(fake.last().sent.map((r) => r.op)).to.deep.equal(['subscribe']);
    });
  });
});
