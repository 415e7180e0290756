import { expect } from 'chai';
import { AckBatcher, AckError, AckTimers } from '../../src/ingest/ack-batcher';

const GROUP = 'tickgate:test';
const INTERVAL_MS = 50;

/** Time that moves only when told: armed timers fire when `advance` reaches them. */
class FakeClock implements AckTimers {
  now = 0;
  private timers: { at: number; fn: () => void }[] = [];

  set(fn: () => void, ms: number): unknown {
    const timer = { at: this.now + ms, fn };
    this.timers.push(timer);
    return timer;
  }

  clear(handle: unknown): void {
    this.timers = this.timers.filter((t) => t !== handle);
  }

  get armed(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.clear(due);
      this.now = due.at;
      due.fn();
    }
    this.now = until;
  }
}

/** The control connection: records every command; each is answered when the spec says so. */
class FakeRedis {
  readonly commands: string[][] = [];
  private readonly waiting: { resolve: (v: number) => void; reject: (e: Error) => void }[] = [];

  readonly send = (args: string[]): Promise<unknown> => {
    this.commands.push(args);
    return new Promise<number>((resolve, reject) => this.waiting.push({ resolve, reject }));
  };

  get unanswered(): number {
    return this.waiting.length;
  }

  async answer(): Promise<void> {
    for (const w of this.waiting.splice(0)) w.resolve(1);
    await turn();
  }

  async fail(message = 'The client is closed'): Promise<void> {
    for (const w of this.waiting.splice(0)) w.reject(new Error(message));
    await turn();
  }
}

/** Lets the batcher's promise callbacks run. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(maxBatch = 1024) {
  const clock = new FakeClock();
  const redis = new FakeRedis();
  const acks = new AckBatcher(redis.send, { group: GROUP, intervalMs: INTERVAL_MS, maxBatch }, clock);
  return { clock, redis, acks };
}

describe('ingest: ack batcher', () => {
  it('sends nothing it was not given: no command and no timer before the first id', () => {
    const { clock, redis } = setup();
    clock.advance(10 * INTERVAL_MS);
    expect(redis.commands).to.deep.equal([]);
    expect(clock.armed).to.equal(0);
  });

  it('sends the ids published within an interval as one XACK per stream once the oldest has waited --ack-interval-ms', () => {
    const { clock, redis, acks } = setup();
    acks.add('ticks', ['1-0', '2-0']);
    clock.advance(20);
    acks.add('other', ['5-0']);
    acks.add('ticks', ['3-0']);
    clock.advance(INTERVAL_MS - 21);
    expect(redis.commands, 'nothing before the oldest id has waited the interval').to.deep.equal([]);
    clock.advance(1);
    expect(redis.commands).to.deep.equal([
      ['XACK', 'ticks', GROUP, '1-0', '2-0', '3-0'],
      ['XACK', 'other', GROUP, '5-0'],
    ]);
  });

  it('starts a new interval with the first id after a batch was sent', () => {
    const { clock, redis, acks } = setup();
    acks.add('ticks', ['1-0']);
    clock.advance(INTERVAL_MS);
    clock.advance(30);
    acks.add('ticks', ['2-0']);
    clock.advance(INTERVAL_MS - 1);
    expect(redis.commands).to.have.length(1);
    clock.advance(1);
    expect(redis.commands).to.deep.equal([['XACK', 'ticks', GROUP, '1-0'], ['XACK', 'ticks', GROUP, '2-0']]);
  });

  it('sends --ack-batch ids of a stream at once, without waiting for the interval; the rest wait for it', () => {
    const { clock, redis, acks } = setup(3);
    acks.add('ticks', ['1-0', '2-0']);
    acks.add('other', ['9-0']);
    expect(redis.commands, 'below the bound').to.deep.equal([]);
    acks.add('ticks', ['3-0']);
    expect(redis.commands, 'at the bound').to.deep.equal([['XACK', 'ticks', GROUP, '1-0', '2-0', '3-0']]);
    acks.add('ticks', ['4-0']);
    expect(redis.commands).to.have.length(1);
    clock.advance(INTERVAL_MS);
    expect(redis.commands.slice(1)).to.deep.equal([['XACK', 'ticks', GROUP, '4-0'], ['XACK', 'other', GROUP, '9-0']]);
  });

  it('never puts more than --ack-batch ids in one XACK, however many one read holds', () => {
    const { clock, redis, acks } = setup(2);
    acks.add('ticks', ['1-0', '2-0', '3-0', '4-0', '5-0']);
    clock.advance(INTERVAL_MS);
    expect(redis.commands).to.deep.equal([
      ['XACK', 'ticks', GROUP, '1-0', '2-0'],
      ['XACK', 'ticks', GROUP, '3-0', '4-0'],
      ['XACK', 'ticks', GROUP, '5-0'],
    ]);
  });

  it('keeps the ids of a failed XACK and sends them again with the next interval\'s batch, not sooner', async () => {
    const { clock, redis, acks } = setup();
    acks.add('ticks', ['1-0', '2-0']);
    clock.advance(INTERVAL_MS);
    await redis.fail();
    acks.add('ticks', ['3-0']);
    clock.advance(INTERVAL_MS - 1);
    expect(redis.commands, 'no retry before an interval has passed').to.have.length(1);
    clock.advance(1);
    expect(redis.commands[1]).to.deep.equal(['XACK', 'ticks', GROUP, '1-0', '2-0', '3-0']);
  });

  it('retries a failing XACK once per interval while it keeps failing, and stops once it succeeds', async () => {
    const { clock, redis, acks } = setup();
    acks.add('ticks', ['1-0']);
    for (let attempt = 1; attempt <= 3; attempt++) {
      clock.advance(INTERVAL_MS);
      expect(redis.commands, `attempt ${attempt}`).to.have.length(attempt);
      await redis.fail();
    }
    clock.advance(INTERVAL_MS);
    await redis.answer();
    clock.advance(10 * INTERVAL_MS);
    expect(redis.commands).to.have.length(4);
    expect(new Set(redis.commands.map((c) => c.join(' ')))).to.deep.equal(new Set([`XACK ticks ${GROUP} 1-0`]));
    expect(clock.armed).to.equal(0);
  });

  it('flush sends waiting and kept ids at once and resolves when their replies are in', async () => {
    const { clock, redis, acks } = setup();
    acks.add('ticks', ['1-0']);
    clock.advance(INTERVAL_MS);
    await redis.fail();
    acks.add('ticks', ['2-0']);
    let flushed = false;
    const flushing = acks.flush().then(() => (flushed = true));
    expect(redis.commands[1]).to.deep.equal(['XACK', 'ticks', GROUP, '1-0', '2-0']);
    await turn();
    expect(flushed, 'before the reply').to.equal(false);
    await redis.answer();
    await flushing;
    expect(flushed).to.equal(true);
  });

  it('flush rejects with ACK_FAILED when an XACK fails, and keeps its ids for the next attempt', async () => {
    const { clock, redis, acks } = setup();
    acks.add('ticks', ['1-0', '2-0']);
    const outcome = acks.flush().then(() => undefined, (e: unknown) => e);
    await redis.fail('timeout');
    const err = await outcome;
    expect(err).to.be.instanceOf(AckError);
    expect(err).to.include({ code: 'ACK_FAILED', unacked: 2 });
    clock.advance(INTERVAL_MS);
    expect(redis.commands[1]).to.deep.equal(['XACK', 'ticks', GROUP, '1-0', '2-0']);
  });

  it('on stop sends every waiting id at once and resolves only after the replies, with nothing left unacked', async () => {
    const { clock, redis, acks } = setup();
    acks.add('ticks', ['1-0']);
    clock.advance(INTERVAL_MS);
    acks.add('ticks', ['2-0']);
    acks.add('other', ['7-0']);
    let stopped: number | undefined;
    const stopping = acks.stop().then((n) => (stopped = n));
    expect(redis.commands.slice(1)).to.deep.equal([['XACK', 'ticks', GROUP, '2-0'], ['XACK', 'other', GROUP, '7-0']]);
    await turn();
    expect(stopped, 'before the replies').to.equal(undefined);
    await redis.answer();
    await stopping;
    expect(stopped).to.equal(0);
    expect(clock.armed).to.equal(0);
  });

  it('on stop reports the ids whose XACK failed and arms no retry after it', async () => {
    const { clock, redis, acks } = setup();
    acks.add('ticks', ['1-0', '2-0']);
    const stopping = acks.stop();
    await redis.fail();
    expect(await stopping).to.equal(2);
    expect(clock.armed).to.equal(0);
    clock.advance(10 * INTERVAL_MS);
    expect(redis.commands).to.have.length(1);
  });

  it('never loses an id: under random adds, size flushes, failures and intervals, every id given is acked', async () => {
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 48_271) % 2_147_483_647) % n);
    const { clock, redis, acks } = setup(5);
    const given = new Set<string>();
    /** The commands Redis answered with success. */
    const answered: string[][] = [];
    const answerAll = async () => {
      answered.push(...redis.commands.slice(redis.commands.length - redis.unanswered));
      await redis.answer();
    };
    let next = 1;
    for (let step = 0; step < 500; step++) {
      const action = random(4);
      if (action === 0) {
        const stream = random(2) === 0 ? 'a' : 'b';
        const ids = Array.from({ length: 1 + random(7) }, () => `${next++}-0`);
        for (const id of ids) given.add(`${stream} ${id}`);
        acks.add(stream, ids);
      } else if (action === 1) {
        clock.advance(random(INTERVAL_MS + 10));
      } else if (action === 2) {
        await answerAll();
      } else {
        await redis.fail();
      }
    }
    const stopping = acks.stop();
    await answerAll();
    expect(await stopping).to.equal(0);
    const acked = answered.flatMap(([, stream, , ...ids]) => ids.map((id) => `${stream} ${id}`));
    expect(new Set(acked)).to.deep.equal(given);
    expect(acked, 'no id acked twice').to.have.length(given.size);
    expect(given.size, 'the run gave ids').to.be.greaterThan(100);
    expect(redis.commands.length, 'some XACKs failed and were sent again').to.be.greaterThan(answered.length);
  });
});
