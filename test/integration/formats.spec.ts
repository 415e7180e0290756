import { expect } from 'chai';
import { connect, TickgateClient } from '../../src/client/node';
import { PrivateRedis } from '../../src/demo/private-redis';
import { compareStreamIds, DataFrame, Tick } from '../../src/wire/tick';
import { GatewayProcess, waitUntil } from '../helpers/gateway';
import { PlainRedis } from '../helpers/redis';
import { startStack, stopStack } from '../helpers/stack';

const SYMBOLS = ['BTC-USD', 'ETH-USD', 'SOL-USD', 'EUR/USD', 'ES.Z5'];
const VARIANTS = [
  { format: 'json', compression: 'none' },
  { format: 'json', compression: 'lz4' },
  { format: 'binary', compression: 'none' },
  { format: 'binary', compression: 'lz4' },
] as const;

describe('wire formats end to end (SDK clients against a real gateway)', function () {
  this.timeout(60_000);
  let redis: PrivateRedis;
  let producer: PlainRedis;
  let gw: GatewayProcess;
  const clients: TickgateClient[] = [];

  before(async () => ({ redis, producer, gw } = await startStack(['--read-count', '256'])));

  after(async () => {
    for (const c of clients) c.close();
    await stopStack({ redis, producer, gw });
  });

  it('gives four clients, one per format, identical tick sequences equal to the stream, prices exact', async () => {
    const received = VARIANTS.map(() => new Map<string, Tick[]>());
    const frames = VARIANTS.map(() => 0);
    for (const [i, v] of VARIANTS.entries()) {
      const client = connect(gw.url, { ...v, reconnect: false });
      clients.push(client);
      client.on('ticks', (frame: DataFrame) => {
        frames[i]++;
        const list = received[i].get(frame.sym) ?? [];
        list.push(...frame.ticks);
        received[i].set(frame.sym, list);
      });
      await new Promise<void>((resolve) => client.on('open', resolve));
      await client.subscribe(SYMBOLS);
    }
    // Quotes with every optional field, prices with trailing zeros and varying scales.
    const written: { id: string; sym: string; fields: Record<string, string> }[] = [];
    for (let i = 0; i < 3000; i += 300) {
      const batch = Array.from({ length: 300 }, (_, k) => {
        const n = i + k;
        const sym = SYMBOLS[n % SYMBOLS.length];
        const fields: Record<string, string> = {
          sym, px: `${27000 + (n % 97)}.${String(n % 100).padStart(2, '0')}0`, sz: n % 3 === 0 ? '1' : `0.${n % 1000}`,
          ts: String(Date.now()), bid: '26999.5', ask: '27001.25', side: n % 2 ? 'buy' : 'sell',
        };
        return producer.xAdd('ticks', '*', fields).then((id) => written.push({ id, sym, fields }));
      });
      await Promise.all(batch);
    }
    const perSymbol = (sym: string) => written.filter((w) => w.sym === sym).sort((a, b) => compareStreamIds(a.id, b.id));
    await waitUntil('all formats caught up', () =>
      received.every((m) => SYMBOLS.every((s) => (m.get(s)?.length ?? 0) >= perSymbol(s).length)), 20_000);
    for (const sym of SYMBOLS) {
      const expected = perSymbol(sym).map((w) => ({ id: w.id, px: w.fields.px, sz: w.fields.sz, bid: w.fields.bid, ask: w.fields.ask, side: w.fields.side }));
      for (const [i, v] of VARIANTS.entries()) {
        const got = received[i].get(sym)!.map((t) => ({ id: t.id, px: t.px, sz: t.sz, bid: t.bid, ask: t.ask, side: t.side }));
        expect(got, `${v.format}+${v.compression} ${sym}`).to.deep.equal(expected);
      }
      // Beyond the fields compared above, the formats agree on everything they carry, timestamps included.
      expect(received[2].get(sym)).to.deep.equal(received[0].get(sym));
    }
    expect(frames.every((n) => n > 0)).to.equal(true);
  });
});
