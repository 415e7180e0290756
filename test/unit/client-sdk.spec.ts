import { expect } from 'chai';
import { backoffDelay } from '../../src/client/backoff';
import { TickgateError } from '../../src/client/errors';
import { connect, TickgateClient } from '../../src/client/node';
import { encodeFrame } from '../../src/wire/frame-encode';
import { FORMAT_NAMES } from '../../src/wire/formats';
import { DataFrame } from '../../src/wire/tick';
import { encodeAck, encodeError } from '../../src/protocol/messages';
import { FAST_RECONNECT, Handler, ScriptedGateway } from '../helpers/scripted-gateway';

/** The gateway's answer in these tests: acks every request, refuses symbols starting with "BAD". */
const ackOrRefuseBad: Handler = (r, ws) => {
  const bad = r.symbols?.find((s) => s.startsWith('BAD'));
  if (bad) ws.send(encodeError({ id: r.id, code: 'INVALID_SYMBOL', message: `invalid symbol ${bad}` }));
  else ws.send(encodeAck({ id: r.id, op: r.op }));
};

function once<T extends unknown[]>(client: TickgateClient, event: 'open' | 'ticks' | 'close' | 'error' | 'reconnecting'): Promise<T> {
  return new Promise((resolve) => {
    const listener = (...args: unknown[]) => {
      client.off(event, listener as never);
      resolve(args as T);
    };
    client.on(event, listener as never);
  });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('client SDK against a WebSocket server', function () {
  this.timeout(10_000);
  let gateway: ScriptedGateway;
  let client: TickgateClient | undefined;

  beforeEach(() => {
    gateway = new ScriptedGateway();
    gateway.onRequest = ackOrRefuseBad;
  });

  afterEach(async () => {
    client?.close();
    client = undefined;
    await gateway.close();
  });

  it('asks for the format and compression in the query string', async () => {
    client = connect(gateway.url, { format: 'binary', compression: 'lz4' });
    await once(client, 'open');
    expect(gateway.urls[0]).to.equal('/v1/stream?format=binary&compression=lz4');
  });

  it('resolves subscribe when the server acks it', async () => {
    client = connect(gateway.url);
    await once(client, 'open');
    await client.subscribe(['BTC-USD', 'ETH-USD']);
    expect(gateway.requests.map((r) => r.body)).to.deep.equal([{ op: 'subscribe', id: 1, symbols: ['BTC-USD', 'ETH-USD'] }]);
    expect(client.symbols).to.deep.equal(['BTC-USD', 'ETH-USD']);
  });

  it('rejects with the server error code and forgets the refused symbols', async () => {
    client = connect(gateway.url);
    await once(client, 'open');
    await client.subscribe(['BTC-USD']);
    const err = await client.subscribe(['BTC-USD', 'BAD!']).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(TickgateError);
    expect((err as TickgateError).code).to.equal('INVALID_SYMBOL');
    expect(client.symbols).to.deep.equal(['BTC-USD']);
  });

  it('settles a subscribe made before the connection opened', async () => {
    client = connect(gateway.url);
    await client.subscribe(['BTC-USD']);
    expect(gateway.requests[0].body).to.include({ op: 'subscribe' });
  });

  it('answers ping and unsubscribe through acks', async () => {
    client = connect(gateway.url);
    await once(client, 'open');
    expect(await client.ping()).to.be.a('number');
    await client.subscribe(['BTC-USD']);
    await client.unsubscribe(['BTC-USD']);
    expect(gateway.requests.map((r) => r.body.op)).to.deep.equal(['ping', 'subscribe', 'unsubscribe']);
    expect(client.symbols).to.deep.equal([]);
  });

  for (const format of FORMAT_NAMES) {
    it(`emits decoded ticks for '${format}' frames`, async () => {
      client = connect(gateway.url);
      await once(client, 'open');
      // Long enough that both LZ4 formats do compress.
      const ticks = Array.from({ length: 300 }, (_, i) => ({ id: `1732480000000-${i}`, ts: 1732480000000, px: '27123.45', sz: '0.0100' }));
      const batch = { sym: 'BTC-USD', ticks };
      const data = encodeFrame(format, batch, 1732480000009);
      if (format.endsWith('lz4')) expect((data as Uint8Array)[1] & 1).to.equal(1);
      const received = once<[DataFrame]>(client, 'ticks');
      gateway.last.send(data);
      const [frame] = await received;
      expect(frame).to.deep.equal({ ...batch, sent: 1732480000009, kind: 'live' });
    });
  }

  it('reports an undecodable frame as an error event and keeps going', async () => {
    client = connect(gateway.url);
    await once(client, 'open');
    const error = once<[Error]>(client, 'error');
    gateway.last.send(Uint8Array.from([9, 9, 9]));
    expect((await error)[0]).to.have.property('code', 'BAD_VERSION');
    expect(await client.ping()).to.be.a('number');
  });

  it('reconnects after a transient close and resubscribes the current symbols', async () => {
    client = connect(gateway.url, { reconnect: FAST_RECONNECT });
    await once(client, 'open');
    await client.subscribe(['BTC-USD', 'ETH-USD']);
    await client.unsubscribe(['ETH-USD']);
    await client.subscribe(['SOL-USD']);
    const closed = once<[number]>(client, 'close');
    gateway.last.close(4001, 'slow consumer');
    expect((await closed)[0]).to.equal(4001);
    await gateway.until(() => gateway.sockets.length === 2 && gateway.requests.length === 4);
    expect(gateway.requests[3].body).to.deep.include({ op: 'subscribe', symbols: ['BTC-USD', 'SOL-USD'] });
  });

  it('does not reconnect after a close code in 4500–4999 and rejects later requests', async () => {
    client = connect(gateway.url, { reconnect: FAST_RECONNECT });
    await once(client, 'open');
    const closed = once<[number]>(client, 'close');
    gateway.last.close(4501, 'unauthorized');
    expect((await closed)[0]).to.equal(4501);
    await delay(200);
    expect(gateway.sockets).to.have.length(1);
    const err = await client.subscribe(['BTC-USD']).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'CLOSED');
  });

  it('stops reconnecting once close() is called', async () => {
    client = connect(gateway.url, { reconnect: FAST_RECONNECT });
    await once(client, 'open');
    const reconnecting = once(client, 'reconnecting');
    gateway.last.close(4001);
    await reconnecting;
    client.close();
    await delay(200);
    expect(gateway.sockets).to.have.length(1);
  });
});

describe('client SDK: reconnect backoff', () => {
  it('grows exponentially, stays within [cap/2, cap] and never exceeds the maximum', () => {
    const options = { initialDelayMs: 100, maxDelayMs: 5000 };
    expect(backoffDelay(0, options, () => 0)).to.equal(50);
    expect(backoffDelay(0, options, () => 1)).to.equal(100);
    expect(backoffDelay(3, options, () => 0.5)).to.equal(600);
    expect(backoffDelay(50, options, () => 1)).to.equal(5000);
    expect(backoffDelay(50, options, () => 0)).to.equal(2500);
  });
});
