import { expect } from 'chai';
import { readyStatus, waitUntil } from '../helpers/gateway';
import { streamIdsOf, xaddTicks } from '../helpers/redis';
import { Stack, startStack, stopStack } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';

const SYMBOLS = ['A', 'B', 'C'];
const TIMEOUT_MS = 1500;
const BLOCK_MS = 500;
const BACKOFF_MAX_MS = 1000;
const STOP_MS = 15_000;

describe('fault: Redis stops answering (SIGSTOP: no RST, no FIN)', function () {
  this.timeout(30_000);
  let stack: Partial<Stack> = {};

  afterEach(async () => {
    stack.redis?.child.kill('SIGCONT');
    await stopStack(stack);
  });

  it('turns /readyz 503 within 10 s, 200 again soon after Redis answers, and delivers every tick exactly', async () => {
    stack = await startStack(['--redis-command-timeout-ms', String(TIMEOUT_MS), '--read-block-ms', String(BLOCK_MS),
      '--redis-backoff-max-ms', String(BACKOFF_MAX_MS)]);
    const { producer, gw, redis } = stack as Stack;
    const client = await TestClient.connect(gw.url);
    await client.request({ op: 'subscribe', symbols: SYMBOLS });
    let offset = 0;
    let producing = true;
    // A producer that keeps writing: its XADDs wait while Redis is stopped and go through when it answers again.
    const feeding = (async () => {
      while (producing) {
        await xaddTicks(producer, 'ticks', SYMBOLS, 20, offset);
        offset += 20;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await waitUntil('ticks flowing', () => client.tickCount() > 100);

    redis.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    await waitUntil('/readyz 503', async () => (await readyStatus(gw.http)) === 503, 10_000, 100);
    const notReadyAfter = Date.now() - stoppedAt;
    // The blocking read's deadline is --read-block-ms + --redis-command-timeout-ms from when it was sent.
    expect(notReadyAfter).to.be.below(BLOCK_MS + TIMEOUT_MS + 1000);
    // Stopped 15 s in all; still not ready at the end (its reconnect attempts hang too).
    await new Promise((r) => setTimeout(r, STOP_MS - (Date.now() - stoppedAt)));
    expect(await readyStatus(gw.http)).to.equal(503);

    redis.child.kill('SIGCONT');
    // Ready once both connections are back and setup ran: within the reconnect backoff cap, plus 3 s of margin.
    await waitUntil('/readyz 200 again', async () => (await readyStatus(gw.http)) === 200, BACKOFF_MAX_MS + 3000, 50);
    producing = false;
    await feeding;

    const expected = new Map(await Promise.all(SYMBOLS.map(async (s) => [s, await streamIdsOf(producer, 'ticks', s)] as const)));
    await waitUntil('every tick received', () => SYMBOLS.every((s) => client.idsOf(s).length >= expected.get(s)!.length));
    await new Promise((r) => setTimeout(r, 300));
    for (const sym of SYMBOLS) expect(client.idsOf(sym), sym).to.deep.equal(expected.get(sym));
    expect(client.replies.filter((r) => r.type === 'gap')).to.deep.equal([]);
    expect(gw.logs.some((l) => l.includes('redis stopped answering'))).to.equal(true);
  });
});
