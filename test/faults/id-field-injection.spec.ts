import { expect } from 'chai';
import { metricValue, waitUntil } from '../helpers/gateway';
import { duplicateKeys } from '../helpers/json-keys';
import { tickFields } from '../helpers/redis';
import { RecordingClient, recordingClient } from '../helpers/sdk-client';
import { startStack, Stack, stopStack } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';

const SYM = 'INJ-USD';
const END = 'END-MARK';

/** The README's stream-entry contract: the names a producer field may not have (besides its own fields, once each). */
const RESERVED = ['type', 'sym', 'sent', 'prev', 'kind', 'ticks', 'id', 'ts', 'px', 'sz', 'bid', 'ask', 'bsz', 'asz', 'side',
  'position', 'stream', 'after', 'through', 'reason', 'extra'];
const PRODUCER_FIELDS = ['sym', 'ts', 'px', 'sz', 'bid', 'ask', 'bsz', 'asz', 'side'];

/** Whether an entry (flat field list as XRANGE returns it) keeps the contract: no reserved extra, no field twice. */
function keepsContract(fields: string[]): boolean {
  const names = fields.filter((_, i) => i % 2 === 0);
  return new Set(names).size === names.length && names.every((n) => PRODUCER_FIELDS.includes(n) || !RESERVED.includes(n));
}

describe('fault: producer fields named like protocol keys (id-field injection)', function () {
  this.timeout(30_000);
  let stack: Stack;
  let raw: TestClient;
  const rawFrames: string[] = [];
  let sdkJson: RecordingClient;
  let sdkBin: RecordingClient;

  before(async () => {
    stack = await startStack();
    raw = await TestClient.connect(stack.gw.url);
    raw.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) rawFrames.push(data.toString());
    });
    await raw.request({ op: 'subscribe', symbols: [SYM, END] });
    sdkJson = await recordingClient(stack.gw.url, 'json', 'none', [SYM, END]);
    sdkBin = await recordingClient(stack.gw.url, 'binary', 'none', [SYM, END]);
  });

  after(async () => {
    raw?.close();
    sdkJson?.client.close();
    sdkBin?.client.close();
    await stopStack(stack ?? {});
  });

  it('rejects every entry with such a field as reserved_field and delivers exactly the others, in stream order, with no gap', async () => {
    const { producer } = stack;
    const flat = (fields: Record<string, string>) => Object.entries(fields).flat();
    const injections: string[][] = [
      ['id', '9999999999999-0'], ['prev', '9999999999999-0'], ['type', 'ack'], ['kind', 'conflated'], ['sent', '1'],
      ['ticks', '[]'], ['extra', 'x'], ['position', '9999999999999-0'], ['stream', 's'], ['after', '1-0'],
      ['through', '1-0'], ['reason', 'trimmed'], ['sym', 'OTHER'], ['px', '1.00'], ['ts', '1'],
    ];
    let i = 0;
    for (const injected of injections) {
      await producer.xAdd('ticks', '*', { ...tickFields(SYM, i++), venue: 'XNAS' });
      // sendCommand, not xAdd: a field list may name a field twice (the last two injections), an object cannot.
      await producer.sendCommand(['XADD', 'ticks', '*', ...flat(tickFields(SYM, i++)), ...injected]);
    }
    for (let k = 0; k < 20; k++) await producer.xAdd('ticks', '*', tickFields(SYM, i++));
    await producer.xAdd('ticks', '*', tickFields(END, 0));

    const entries = (await producer.sendCommand(['XRANGE', 'ticks', '-', '+'])) as [string, string[]][];
    const ofSym = entries.filter(([, f]) => f.includes(SYM));
    const expected = ofSym.filter(([, f]) => keepsContract(f)).map(([id]) => id);
    expect(ofSym.length - expected.length, 'entries that break the contract').to.equal(injections.length);

    await waitUntil('every client saw the end mark', () =>
      raw.idsOf(END).length === 1 && sdkJson.idsOf(END).length === 1 && sdkBin.idsOf(END).length === 1);
    expect(raw.idsOf(SYM), 'raw JSON client').to.deep.equal(expected);
    expect(sdkJson.idsOf(SYM), 'SDK, json').to.deep.equal(expected);
    expect(sdkBin.idsOf(SYM), 'SDK, binary').to.deep.equal(expected);
    expect([...sdkJson.gaps, ...sdkBin.gaps]).to.deep.equal([]);
    // Extras that collide with nothing still reach JSON clients.
    expect(sdkJson.ticks.get(SYM)![0].extra).to.deep.equal({ venue: 'XNAS' });

    expect(duplicateKeys('{"a":{"id":"1","id":"2"}}'), 'the scan finds a duplicate').to.deep.equal(['id']);
    const dataFrames = rawFrames.filter((f) => f.startsWith('{"type":"ticks"'));
    expect(dataFrames.length).to.be.greaterThan(0);
    expect(dataFrames.flatMap(duplicateKeys), 'duplicate keys in raw JSON frames').to.deep.equal([]);
    expect(await metricValue(stack.gw.http, 'tickgate_malformed_entries_total', { kind: 'reserved_field' })).to.equal(injections.length);
  });
});
