import { expect } from 'chai';
import { decodeFrame } from '../../src/wire/frame';
import { metricValue, waitUntil } from '../helpers/gateway';
import { tickFields } from '../helpers/redis';
import { RecordingClient, recordingClient } from '../helpers/sdk-client';
import { startStack, Stack, stopStack } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';

const SYM = 'GRAM-USD';
const END = 'END-MARK';
const BAD_TS = ['', ' 7 ', '1e3', '0x10', '5.0', '-1', '+5', '7 ', '9007199254740992', '１２'];
/** The README's grammar: digits only, at most 2^53-1. */
const validTs = (ts: string) => /^[0-9]+$/.test(ts) && BigInt(ts) <= BigInt(Number.MAX_SAFE_INTEGER);

describe('fault: entries outside the stream-entry grammar, and ids beyond 2^53 (strict grammar)', function () {
  this.timeout(30_000);
  let stack: Stack;
  let json: TestClient;
  let bin: RecordingClient;
  /** Raw, so the test can see that LZ4 frames were among those it decoded. */
  let binLz4: TestClient;

  before(async () => {
    stack = await startStack();
    json = await TestClient.connect(stack.gw.url);
    await json.request({ op: 'subscribe', symbols: [SYM, END] });
    bin = await recordingClient(stack.gw.url, 'binary', 'none', [SYM, END]);
    binLz4 = await TestClient.connect(`${stack.gw.url}?format=binary&compression=lz4`);
    await binLz4.request({ op: 'subscribe', symbols: [SYM, END] });
  });

  after(async () => {
    json?.close();
    bin?.client.close();
    binLz4?.close();
    await stopStack(stack ?? {});
  });

  it('counts every entry with a ts that is not digits 0..2^53-1 as bad_timestamp, and carries ids above 2^53 exactly in every format', async () => {
    const { producer } = stack;
    let i = 0;
    for (const ts of BAD_TS) {
      await producer.xAdd('ticks', '*', tickFields(SYM, i++));
      await producer.xAdd('ticks', '*', { ...tickFields(SYM, i++), ts });
    }
    await producer.xAdd('ticks', '*', { ...tickFields(SYM, i++), ts: '0' });
    // Ids Redis accepts and JavaScript numbers cannot hold: ms above 2^53, seq at 2^64-1. The `*` entry after each
    // is an ordinary tick whose prev is the big id (Redis gives it the next id: above 2^53 too).
    await producer.xAdd('ticks', '9007199254740993-18446744073709551615', tickFields(SYM, i++));
    await producer.xAdd('ticks', '*', tickFields(SYM, i++));
    // One transaction: the gateway reads its entries in one batch, a frame large enough for LZ4. ms near 2^64 also
    // puts ts − ms beyond 2^53 in magnitude.
    const multi = producer.multi().xAdd('ticks', '18446744073709551614-5', tickFields(SYM, i++));
    for (let k = 0; k < 100; k++) multi.xAdd('ticks', '*', { ...tickFields(SYM, i++), bid: `${k}.25`, ask: `${k}.75`, side: 'buy' });
    await multi.exec();
    await producer.xAdd('ticks', '*', tickFields(END, 0));

    const entries = await producer.xRange('ticks', '-', '+');
    const ofSym = entries.filter((e) => e.message.sym === SYM);
    const expected = ofSym.filter((e) => validTs(e.message.ts)).map((e) => e.id);
    expect(ofSym.length - expected.length, 'entries with a bad ts').to.equal(BAD_TS.length);
    expect(expected).to.include.members(['9007199254740993-18446744073709551615', '9007199254740994-0', '18446744073709551614-5', '18446744073709551614-6']);

    const lz4Frames = () => binLz4.unexpected.map((bytes) => decodeFrame(bytes));
    await waitUntil('every client saw the end mark', () =>
      json.idsOf(END).length === 1 && bin.idsOf(END).length === 1 && lz4Frames().some((f) => f.sym === END));
    expect(json.idsOf(SYM), 'json').to.deep.equal(expected);
    expect(bin.idsOf(SYM), 'bin').to.deep.equal(expected);
    expect(lz4Frames().filter((f) => f.sym === SYM).flatMap((f) => f.ticks.map((t) => t.id)), 'bin+lz4').to.deep.equal(expected);
    expect(binLz4.unexpected.some((bytes) => (bytes[1] & 1) === 1), 'an LZ4-compressed frame among them').to.equal(true);
    expect([...bin.gaps, ...bin.errors]).to.deep.equal([]);
    // Every format carries the same ts for every tick, the big ids' ticks included.
    expect(bin.ticks.get(SYM)!.map((t) => t.ts)).to.deep.equal(json.ticks.get(SYM)!.map((t) => t.ts));
    expect(await metricValue(stack.gw.http, 'tickgate_malformed_entries_total', { kind: 'bad_timestamp' })).to.equal(BAD_TS.length);
    expect(await metricValue(stack.gw.http, 'tickgate_encode_errors_total')).to.equal(0);
  });

  it('refuses a since beyond 2^64-1 with BAD_REQUEST that says so', async () => {
    for (const since of ['18446744073709551616-0', '0-18446744073709551616', '99999999999999999999999-0']) {
      const reply = await json.request({ op: 'subscribe', symbols: ['OTHER'], since: { OTHER: since } });
      expect(reply, since).to.include({ type: 'error', code: 'BAD_REQUEST' });
      expect(reply.message, since).to.match(/above 2\^64-1/);
    }
    expect((await json.request({ op: 'subscriptions' })).symbols, 'the refused requests changed nothing').to.have.members([SYM, END]);
  });
});
