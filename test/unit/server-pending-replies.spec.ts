import { expect } from 'chai';
import { PendingReplies } from '../../src/server/pending-replies';

/** Whether `p` has settled once pending callbacks have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('server: requests across the worker boundary (PendingReplies)', () => {
  it('resolves with every asked thread\'s answer, in the order they came, once the last has answered', async () => {
    const replies = new PendingReplies<string>();
    const posted: number[] = [];
    const answers = replies.ask((id) => (posted.push(id), [0, 1, 2]))!;
    replies.answer(posted[0], 2, 'from 2');
    replies.answer(posted[0], 0, 'from 0');
    expect(await settled(answers)).to.equal(false);
    replies.answer(posted[0], 1, 'from 1');
    expect(await answers).to.deep.equal(['from 2', 'from 0', 'from 1']);
  });

  it('gives each request its own id, and matches answers to requests by it', async () => {
    const replies = new PendingReplies<string>();
    const ids: number[] = [];
    const first = replies.ask((id) => (ids.push(id), [0]))!;
    const second = replies.ask((id) => (ids.push(id), [0]))!;
    expect(ids[0]).to.not.equal(ids[1]);
    replies.answer(ids[1], 0, 'second');
    replies.answer(ids[0], 0, 'first');
    expect([await first, await second]).to.deep.equal([['first'], ['second']]);
  });

  it('ignores a second answer from the same thread and answers from threads it did not ask', async () => {
    const replies = new PendingReplies<string>();
    let id = 0;
    const answers = replies.ask((i) => ((id = i), [0, 1]))!;
    replies.answer(id, 0, 'a');
    replies.answer(id, 0, 'again');
    replies.answer(id, 7, 'stranger');
    expect(await settled(answers)).to.equal(false);
    replies.answer(id, 1, 'b');
    expect(await answers).to.deep.equal(['a', 'b']);
  });

  it('stops waiting for a forgotten thread: what the others answered resolves the request', async () => {
    const replies = new PendingReplies<string>();
    let id = 0;
    const answers = replies.ask((i) => ((id = i), [0, 1]))!;
    const onlyFromOne = replies.ask(() => [1])!;
    replies.answer(id, 0, 'a');
    replies.forget(1);
    expect(await answers).to.deep.equal(['a']);
    expect(await onlyFromOne).to.deep.equal([]);
  });

  it('returns no promise for a request that went to no thread', () => {
    expect(new PendingReplies<string>().ask(() => [])).to.equal(undefined);
  });

  it('never settles a dropped request, even when its answer comes', async () => {
    const replies = new PendingReplies<string>();
    let id = 0;
    const answers = replies.ask((i) => ((id = i), [0]))!;
    replies.drop(id);
    replies.answer(id, 0, 'late');
    expect(await settled(answers)).to.equal(false);
  });
});
