import { expect } from 'chai';
import { ClientEvents, GapEvent } from '../../src/client/client';
import { connect, TickgateClient } from '../../src/client/node';
import { decodeMode, decodeSnapshot, encodeError, encodeMode, encodeSnapshot, SnapshotFrame } from '../../src/protocol/messages';
import { gapMessage, StreamLoss } from '../../src/protocol/gap';
import { encodeFrame } from '../../src/wire/frame-encode';
import { FormatName } from '../../src/wire/formats';
import { DataFrame, FrameKind, Tick } from '../../src/wire/tick';
import { ack, FAST_RECONNECT, ScriptedGateway, SENTINEL } from '../helpers/scripted-gateway';

function tick(id: string, px = '100.5'): Tick {
  return { id, ts: Number(id.split('-')[0]), px, sz: '1' };
}

function frame(format: FormatName, sym: string, ids: string[], prev?: string, kind: FrameKind = 'live'): string | Uint8Array {
  return encodeFrame(format, { sym, ticks: ids.map((id) => tick(id)), ...(prev !== undefined && { prev }) }, 1000, kind);
}

function snapshotText(id: number | undefined, position: string, ticks: [string, string][]): string {
  return encodeSnapshot({ id, position, ticks: ticks.map(([sym, tid]) => ({ sym, ...tick(tid) })) });
}

function next<K extends keyof ClientEvents>(client: TickgateClient, event: K): Promise<ClientEvents[K]> {
  return new Promise((resolve) => {
    const listener = (...args: ClientEvents[K]) => {
      client.off(event, listener);
      resolve(args);
    };
    client.on(event, listener);
  });
}

type Logged =
  | ['ticks', string, FrameKind, string[]]
  | ['gap', GapEvent]
  | ['snapshot', SnapshotFrame]
  | ['resumeUnavailable', string[]]
  | ['mode', string];

/** Every continuity-relevant event, in order, compactly. */
function record(client: TickgateClient): Logged[] {
  const log: Logged[] = [];
  client.on('ticks', (f: DataFrame) => log.push(['ticks', f.sym, f.kind, f.ticks.map((t) => t.id)]));
  client.on('gap', (g) => log.push(['gap', g]));
  client.on('snapshot', (s) => log.push(['snapshot', s]));
  client.on('resumeUnavailable', (e) => log.push(['resumeUnavailable', e.symbols]));
  client.on('mode', (m) => log.push(['mode', m.mode]));
  return log;
}


describe('client SDK: continuity (prev, gaps, duplicates, resume)', function () {
  this.timeout(10_000);
  let gateway: ScriptedGateway;
  let client: TickgateClient | undefined;

  beforeEach(() => {
    gateway = new ScriptedGateway();
  });

  afterEach(async () => {
    client?.close();
    client = undefined;
    await gateway.close();
  });

  /** Sends `data` in order, then a sentinel frame, and waits until the client has handled all of them. */
  async function deliver(c: TickgateClient, ...data: (string | Uint8Array)[]): Promise<void> {
    const done = new Promise<void>((resolve) => {
      const listener = (f: DataFrame) => {
        if (f.sym !== SENTINEL) return;
        c.off('ticks', listener);
        resolve();
      };
      c.on('ticks', listener);
    });
    for (const d of data) gateway.last.send(d);
    gateway.last.send(frame('json', SENTINEL, ['1-0']));
    await done;
  }

  for (const format of ['json', 'bin+lz4'] as const) {
    it(`emits gap when a live or replay frame's prev is not the held id, in '${format}'`, async () => {
      client = connect(gateway.url, { format: format === 'json' ? 'json' : 'binary', compression: format === 'json' ? 'none' : 'lz4' });
      await client.subscribe(['A']);
      const log = record(client);
      await deliver(
        client,
        frame(format, 'A', ['10-0', '10-1']), // first frame: nothing held, no gap whatever prev says
        frame(format, 'A', ['11-0'], '10-1'), // chained
        frame(format, 'A', ['13-0'], '12-0'), // 12-0 was never seen: gap
        frame(format, 'A', ['14-0'], '13-0', 'replay'), // chained again
        frame(format, 'A', ['16-0'], '15-0', 'replay'), // gap in a replay
        frame(format, 'A', ['17-0']), // no prev while one is held: the server lost track, a gap
      );
      expect(log.filter((e) => e[0] !== 'ticks' || e[1] !== SENTINEL)).to.deep.equal([
        ['ticks', 'A', 'live', ['10-0', '10-1']],
        ['ticks', 'A', 'live', ['11-0']],
        ['gap', { sym: 'A', expected: '11-0', got: '12-0' }],
        ['ticks', 'A', 'live', ['13-0']],
        ['ticks', 'A', 'replay', ['14-0']],
        ['gap', { sym: 'A', expected: '14-0', got: '15-0' }],
        ['ticks', 'A', 'replay', ['16-0']],
        ['gap', { sym: 'A', expected: '16-0', got: undefined }],
        ['ticks', 'A', 'live', ['17-0']],
      ]);
      expect(client.lastId('A')).to.equal('17-0');
    });
  }

  it('on a gap announcement reports every held symbol, asks for one snapshot of them and applies it', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A', 'B', 'C']);
    await deliver(client, frame('json', 'A', ['10-0']), frame('json', 'B', ['11-0']));
    const log = record(client);
    const loss: StreamLoss = { stream: 'ticks', after: '11-0', through: '20-5', reason: 'trimmed' };
    gateway.onRequest = (r, ws) => {
      if (r.op !== 'snapshot') return ack(r, ws, 0);
      ws.send(snapshotText(r.id, '30-0', [['A', '25-0'], ['B', '11-0'], ['C', '29-0']]));
      ack(r, ws, 0);
    };
    const snapshot = next(client, 'snapshot');
    gateway.last.send(gapMessage(loss));
    await snapshot;
    expect(gateway.requests.map((r) => r.body).filter((b) => b.op === 'snapshot')).to.deep.equal([
      { op: 'snapshot', id: gateway.requests[gateway.requests.length - 1].body.id, symbols: ['A', 'B', 'C'] },
    ]);
    expect(log.filter((e) => e[0] === 'gap')).to.deep.equal([
      ['gap', { sym: 'A', expected: '10-0', got: undefined, loss }],
      ['gap', { sym: 'B', expected: '11-0', got: undefined, loss }],
      ['gap', { sym: 'C', expected: undefined, got: undefined, loss }],
    ]);
    expect([client.lastId('A'), client.lastId('B'), client.lastId('C')]).to.deep.equal(['25-0', '11-0', '29-0']);
    // The chain continues from the snapshot: the next live frame of A is no gap.
    const after = record(client);
    await deliver(client, frame('json', 'A', ['31-0'], '25-0'));
    expect(after.filter((e) => e[0] === 'gap')).to.deep.equal([]);
  });

  it('reports a malformed gap announcement as an error and asks for nothing', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A']);
    const error = next(client, 'error');
    gateway.last.send(JSON.stringify({ type: 'gap', stream: 'ticks', after: '1-0', through: '2-0', reason: 'gremlins' }));
    const [err] = await error;
    expect(err).to.have.property('code', 'BAD_MESSAGE');
    expect(gateway.requests.filter((r) => r.body.op === 'snapshot')).to.deep.equal([]);
  });

  it('accepts conflated frames without a gap and continues the chain from their tick', async () => {
    client = connect(gateway.url, { format: 'binary' });
    await client.subscribe(['A']);
    const log = record(client);
    await deliver(
      client,
      frame('bin', 'A', ['10-0']),
      frame('bin', 'A', ['25-3'], '10-0', 'conflated'), // (10-0, 25-3] skipped on purpose
      frame('bin', 'A', ['40-0'], '30-0', 'conflated'), // even with a prev the client never had
      frame('bin', 'A', ['41-0'], '40-0'),
    );
    expect(log.filter((e) => e[0] === 'gap')).to.deep.equal([]);
    expect(log.filter((e) => e[0] === 'ticks' && e[1] === 'A').map((e) => e[2])).to.deep.equal(['live', 'conflated', 'conflated', 'live']);
    expect(client.lastId('A')).to.equal('41-0');
  });

  it('drops ticks at or below the held id, and whole frames of them, without reporting a gap', async () => {
    client = connect(gateway.url, { format: 'binary' });
    await client.subscribe(['A', 'B']);
    const log = record(client);
    await deliver(
      client,
      frame('bin', 'A', ['9-9', '10-0', '10-1'], '9-8'),
      frame('bin', 'A', ['9-9', '10-0', '10-1'], '9-8'), // the same frame again
      frame('bin', 'A', ['10-1', '10-2'], '10-0'), // overlaps by one tick
      frame('bin', 'B', ['10-1']), // another symbol has its own chain
      frame('bin', 'A', ['9-10'], '9-9', 'replay'), // an old replay
      frame('bin', 'A', ['100-0'], '10-2'),
    );
    expect(log.filter((e) => e[1] !== SENTINEL)).to.deep.equal([
      ['ticks', 'A', 'live', ['9-9', '10-0', '10-1']],
      ['ticks', 'A', 'live', ['10-2']],
      ['ticks', 'B', 'live', ['10-1']],
      ['ticks', 'A', 'live', ['100-0']],
    ]);
    expect(client.duplicatesDropped).to.equal(3 + 1 + 1);
  });

  it('orders ids numerically, not as strings', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A']);
    const log = record(client);
    await deliver(client, frame('json', 'A', ['9-9']), frame('json', 'A', ['10-0', '10-10'], '9-9'), frame('json', 'A', ['10-9', '10-11'], '10-10'));
    expect(log.filter((e) => e[0] === 'ticks' && e[1] === 'A').map((e) => e[3])).to.deep.equal([['9-9'], ['10-0', '10-10'], ['10-11']]);
    expect(log.filter((e) => e[0] === 'gap')).to.deep.equal([]);
  });

  it('forgets the held id on unsubscribe, so a later subscribe starts a new chain', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A']);
    await deliver(client, frame('json', 'A', ['10-0']));
    await client.unsubscribe(['A']);
    expect(client.lastId('A')).to.equal(undefined);
    await client.subscribe(['A']);
    const log = record(client);
    await deliver(client, frame('json', 'A', ['50-0'], '49-0'));
    expect(log.filter((e) => e[0] === 'gap')).to.deep.equal([]);
  });

  it('after a close 1001 reconnects and resubscribes with since = the held ids, snapshot for the others', async () => {
    client = connect(gateway.url, { reconnect: FAST_RECONNECT });
    await client.subscribe(['A', 'B', 'C']);
    await deliver(client, frame('json', 'A', ['5-0', '5-1']), frame('json', 'B', ['7-0']), frame('json', 'A', ['5-2'], '5-1'));
    const reopened = next(client, 'open');
    gateway.last.close(1001, 'going away');
    await reopened;
    await gateway.until(() => gateway.requests.some((r) => r.connection === 1));
    const resub = gateway.requests.find((r) => r.connection === 1)!;
    expect(resub.body).to.deep.equal({ op: 'subscribe', id: resub.body.id, symbols: ['A', 'B', 'C'], snapshot: true, since: { A: '5-2', B: '7-0' } });
    expect(resub.raw.indexOf('"op"')).to.equal(1); // op first, as every request
  });

  it('sends since without snapshot when every symbol has a held id, and settles a subscribe caught by the drop', async () => {
    client = connect(gateway.url, { reconnect: FAST_RECONNECT });
    await client.subscribe(['A']);
    await deliver(client, frame('bin', 'A', ['5-0']));
    gateway.onRequest = (r, ws, conn) => {
      if (conn === 0 && r.op === 'subscribe') ws.close(1001); // never answered on this connection
      else ack(r, ws, conn);
    };
    const pending = client.subscribe(['A']);
    await pending; // settled by the resubscription on the new connection
    const resub = gateway.requests.find((r) => r.connection === 1)!;
    expect(resub.body).to.deep.equal({ op: 'subscribe', id: resub.body.id, symbols: ['A'], since: { A: '5-0' } });
  });

  it('when the resubscription on a new connection fails with a transient error, reconnects and restores it; a permanent one stops there', async () => {
    client = connect(gateway.url, { reconnect: FAST_RECONNECT });
    await client.subscribe(['A']);
    await deliver(client, frame('json', 'A', ['5-0']));
    gateway.onRequest = (r, ws, conn) => {
      if (conn === 1) ws.send(encodeError({ id: r.id, code: 'INTERNAL', message: 'reader not ready' }));
      else if (conn === 3) ws.send(encodeError({ id: r.id, code: 'FORBIDDEN', message: 'not entitled' }));
      else ack(r, ws, conn);
    };
    const errors: string[] = [];
    client.on('error', (e) => errors.push((e as { code?: string }).code ?? e.message));
    gateway.last.close(1001);
    await gateway.until(() => gateway.requests.some((r) => r.connection === 2));
    const restored = gateway.requests.find((r) => r.connection === 2)!;
    expect(restored.body).to.deep.equal({ op: 'subscribe', id: restored.body.id, symbols: ['A'], since: { A: '5-0' } });
    expect(errors).to.deep.equal(['INTERNAL']);
    await deliver(client, frame('json', 'A', ['6-0'], '5-0'));
    expect(client.lastId('A')).to.equal('6-0');
    gateway.last.close(1001);
    await gateway.until(() => gateway.requests.some((r) => r.connection === 3));
    await new Promise((r) => setTimeout(r, 200)); // FAST_RECONNECT would have reconnected by now
    expect(gateway.sockets).to.have.length(4);
    expect(errors).to.deep.equal(['INTERNAL', 'FORBIDDEN']);
  });

  it('on RESUME_UNAVAILABLE emits resumeUnavailable, applies the snapshot that follows and continues without a gap', async () => {
    client = connect(gateway.url, { reconnect: FAST_RECONNECT });
    await client.subscribe(['A', 'B', 'C']);
    await deliver(client, frame('json', 'A', ['5-2']), frame('json', 'B', ['6-0']));
    // The scripted reply of the protocol: replay, RESUME_UNAVAILABLE, one snapshot, ack, live.
    gateway.onRequest = (r, ws, conn) => {
      if (conn === 0 || r.op !== 'subscribe') return ack(r, ws, conn);
      ws.send(frame('bin', 'A', ['5-3', '8-0'], '5-2', 'replay'));
      ws.send(encodeError({ id: r.id, code: 'RESUME_UNAVAILABLE', message: 'history trimmed', symbols: ['B'] }));
      ws.send(snapshotText(r.id, '20-0', [['B', '19-0'], ['C', '18-0']]));
      ack(r, ws, conn);
      ws.send(frame('bin', 'B', ['21-0'], '19-0'));
      ws.send(frame('bin', 'C', ['22-0'], '18-0'));
      ws.send(frame('bin', 'A', ['23-0'], '8-0'));
    };
    const log = record(client);
    const reopened = next(client, 'open');
    gateway.last.close(1001);
    await reopened;
    await gateway.until(() => gateway.requests.some((r) => r.connection === 1)); // the scripted reply is out
    await deliver(client);
    const resub = gateway.requests.find((r) => r.connection === 1)!.body;
    expect(resub).to.deep.include({ snapshot: true, since: { A: '5-2', B: '6-0' } });
    const snapshot = log.find((e) => e[0] === 'snapshot')![1] as SnapshotFrame;
    expect(snapshot).to.deep.equal({
      id: resub.id,
      position: '20-0',
      ticks: [{ sym: 'B', ...tick('19-0') }, { sym: 'C', ...tick('18-0') }],
    });
    expect(log.filter((e) => e[1] !== SENTINEL).map((e) => (e[0] === 'snapshot' ? 'snapshot' : e))).to.deep.equal([
      ['ticks', 'A', 'replay', ['5-3', '8-0']],
      ['resumeUnavailable', ['B']],
      'snapshot',
      ['ticks', 'B', 'live', ['21-0']],
      ['ticks', 'C', 'live', ['22-0']],
      ['ticks', 'A', 'live', ['23-0']],
    ]);
    expect([client.lastId('A'), client.lastId('B'), client.lastId('C')]).to.deep.equal(['23-0', '21-0', '22-0']);
  });

  it('subscribe with snapshot asks for it, and the snapshot event precedes the resolved promise', async () => {
    client = connect(gateway.url);
    gateway.onRequest = (r, ws, conn) => {
      if (r.snapshot) ws.send(snapshotText(r.id, '9-0', [['A', '9-0']]));
      ack(r, ws, conn);
    };
    const log = record(client);
    await client.subscribe(['A', 'B'], { snapshot: true });
    expect(gateway.requests[0].body).to.deep.equal({ op: 'subscribe', id: 1, symbols: ['A', 'B'], snapshot: true });
    expect(log.map((e) => e[0])).to.deep.equal(['snapshot']);
    expect(client.lastId('A')).to.equal('9-0');
    await client.subscribe(['C']);
    expect(gateway.requests[1].body).to.deep.equal({ op: 'subscribe', id: 2, symbols: ['C'] });
  });

  it('pause() and resume() send their ops and settle on the ack; resume applies the snapshot before it', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A']);
    await deliver(client, frame('json', 'A', ['5-0']));
    gateway.onRequest = (r, ws, conn) => {
      if (r.op === 'resume') ws.send(snapshotText(r.id, '30-0', [['A', '30-0']]));
      ack(r, ws, conn);
    };
    const log = record(client);
    await client.pause();
    expect(client.paused).to.equal(true);
    await client.resume();
    expect(client.paused).to.equal(false);
    expect(gateway.requests.slice(1).map((r) => r.body)).to.deep.equal([{ op: 'pause', id: 2 }, { op: 'resume', id: 3 }]);
    expect(log.map((e) => e[0])).to.deep.equal(['snapshot']);
    await deliver(client, frame('json', 'A', ['31-0'], '30-0'));
    expect(log.filter((e) => e[0] === 'gap')).to.deep.equal([]);
  });

  it('pause() rejects with the server error and leaves the client unpaused', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A']);
    gateway.onRequest = (r, ws) => ws.send(encodeError({ id: r.id, code: 'UNKNOWN_OP', message: 'no pause here' }));
    const err = await client.pause().catch((e: unknown) => e);
    expect(err).to.have.property('code', 'UNKNOWN_OP');
    expect(client.paused).to.equal(false);
  });

  it('stays paused across a reconnect: resubscribes, then pauses again', async () => {
    client = connect(gateway.url, { reconnect: FAST_RECONNECT });
    await client.subscribe(['A']);
    await client.pause();
    const reopened = next(client, 'open');
    gateway.last.close(1001);
    await reopened;
    await gateway.until(() => gateway.requests.filter((r) => r.connection === 1).length === 2);
    expect(gateway.requests.filter((r) => r.connection === 1).map((r) => r.body.op)).to.deep.equal(['subscribe', 'pause']);
  });

  it('emits mode changes and reports the current mode', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A']);
    const log = record(client);
    gateway.last.send(encodeMode({ mode: 'conflated', reason: 'send buffer above 1 MiB' }));
    const [change] = await next(client, 'mode');
    expect(change).to.deep.equal({ mode: 'conflated', reason: 'send buffer above 1 MiB' });
    expect(client.mode).to.equal('conflated');
    gateway.last.send(encodeMode({ mode: 'full', reason: 'drained' }));
    gateway.last.send(snapshotText(undefined, '50-0', [['A', '50-0']]));
    await next(client, 'snapshot');
    expect(client.mode).to.equal('full');
    expect(log.map((e) => e[0])).to.deep.equal(['mode', 'mode', 'snapshot']);
  });

  it('reports a malformed snapshot or mode message as an error event', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A']);
    const error = next(client, 'error');
    gateway.last.send(JSON.stringify({ type: 'snapshot', position: 'nope', ticks: [] }));
    expect((await error)[0]).to.have.property('code', 'BAD_JSON_FRAME');
    const error2 = next(client, 'error');
    gateway.last.send(JSON.stringify({ type: 'mode', mode: 'turbo' }));
    expect((await error2)[0]).to.have.property('code', 'BAD_JSON_FRAME');
  });
});

describe('client SDK: snapshot and mode message decoders', () => {
  it('decodes snapshot ticks with their symbol, keeping unknown string fields as extra', () => {
    const text = '{"type":"snapshot","id":"r1","position":"5-0","ticks":[{"sym":"A","id":"5-0","ts":5,"px":"1.0","sz":"2","side":"buy","venue":"X"}]}';
    expect(decodeSnapshot(text)).to.deep.equal({
      id: 'r1',
      position: '5-0',
      ticks: [{ sym: 'A', id: '5-0', ts: 5, px: '1.0', sz: '2', side: 'buy', extra: { venue: 'X' } }],
    });
    expect(decodeSnapshot({ type: 'snapshot', position: '1-0', ticks: [] })).to.deep.equal({ position: '1-0', ticks: [] });
  });

  it('rejects snapshots without a position, with a tick lacking sym, or that are not snapshots', () => {
    for (const bad of [
      '{"type":"snapshot","ticks":[]}',
      '{"type":"snapshot","position":"1-0","ticks":[{"id":"1-0","ts":1,"px":"1","sz":"1"}]}',
      '{"type":"snapshot","position":"1-0","ticks":[{"sym":"A","id":"1-0"}]}',
      '{"type":"ticks","position":"1-0","ticks":[]}',
      'null',
      '[',
    ]) {
      expect(() => decodeSnapshot(bad), bad).to.throw().with.property('code', 'BAD_JSON_FRAME');
    }
  });

  it('decodes the three modes and nothing else', () => {
    for (const mode of ['full', 'conflated', 'snapshot-only']) {
      expect(decodeMode(`{"type":"mode","mode":"${mode}","reason":"r"}`)).to.deep.equal({ mode, reason: 'r' });
    }
    expect(decodeMode('{"type":"mode","mode":"full"}')).to.deep.equal({ mode: 'full', reason: '' });
    expect(() => decodeMode('{"type":"mode","mode":"closed"}')).to.throw().with.property('code', 'BAD_JSON_FRAME');
  });
});
