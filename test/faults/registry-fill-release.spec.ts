import { expect } from 'chai';
import { metricValue, waitUntil } from '../helpers/gateway';
import { streamIdsOf, xaddTicks } from '../helpers/redis';
import { Stack, startStack, stopStack } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';

const WORKERS = 2;
const TOPIC_CAPACITY = 256;
const CHUNK = 64;

/**
 * Connections from one IP (the loopback) subscribe to distinct symbols, CHUNK at a time, until the gateway refuses
 * more with CAPACITY_EXCEEDED everywhere: every worker's table holds TOPIC_CAPACITY topics. Returns the clients.
 */
async function fillTopicTables(url: string, http: string, round: string): Promise<TestClient[]> {
  const clients: TestClient[] = [];
  for (let c = 0; (await metricValue(http, 'tickgate_active_topics')) < WORKERS * TOPIC_CAPACITY; c++) {
    if (c === 60) throw new Error(`60 connections did not fill ${WORKERS} tables of ${TOPIC_CAPACITY} topics`);
    const client = await TestClient.connect(url);
    clients.push(client);
    for (let k = 0; ; k++) {
      const reply = await client.request({ op: 'subscribe', symbols: Array.from({ length: CHUNK }, (_, i) => `${round}${c}-${k}-${i}`) });
      if (reply.type === 'ack') continue;
      expect(reply.code).to.equal('CAPACITY_EXCEEDED');
      break;
    }
  }
  return clients;
}

describe('fault: one IP fills the topic table and releases it', function () {
  this.timeout(30_000);
  let stack: Stack;

  before(async () => {
    stack = await startStack(['--workers', String(WORKERS), '--topic-capacity', String(TOPIC_CAPACITY)]);
  });

  after(() => stopStack(stack));

  it('brings the lookup cost back to a fresh table\'s, takes a full table again, and delivers exactly to a new client', async () => {
    const { gw, producer } = stack;
    const probe = () => metricValue(gw.http, 'tickgate_registry_probe_slots');
    expect(await probe(), 'fresh tables').to.equal(1);

    for (const round of ['A', 'B']) {
      const fillers = await fillTopicTables(gw.url, gw.http, round);
      expect(await metricValue(gw.http, 'tickgate_active_topics'), `round ${round}: topics held`).to.equal(WORKERS * TOPIC_CAPACITY);
      expect(await probe(), `round ${round}: full tables`).to.be.above(1);
      for (const c of fillers) c.close();
      await waitUntil('the fill released', async () => (await metricValue(gw.http, 'tickgate_subscriptions')) === 0);
      expect(await probe(), `round ${round}: released tables`).to.equal(1);
    }

    const client = await TestClient.connect(gw.url);
    const symbols = ['AFTER-1', 'AFTER-2', 'AFTER-3'];
    expect(await client.request({ op: 'subscribe', symbols })).to.include({ type: 'ack', op: 'subscribe' });
    await xaddTicks(producer, 'ticks', [...symbols, 'UNWATCHED'], 2000);
    const expected = new Map<string, string[]>();
    for (const s of symbols) expected.set(s, await streamIdsOf(producer, 'ticks', s));
    await waitUntil('the new client has its ticks', () => client.tickCount() === 1500);
    for (const s of symbols) expect(client.idsOf(s), s).to.deep.equal(expected.get(s));
    expect([...client.ticks.keys()].sort()).to.deep.equal(symbols);
    client.close();
  });
});
