import { expect } from 'chai';
import type { StreamReader } from '../../src/ingest/reader';
import { StreamReaders } from '../../src/ingest/readers';

/** A reader reduced to what StreamReaders calls, recording the calls. */
function fakeReaders(count: number) {
  const reports: ((ready: boolean) => void)[] = [];
  const calls: string[] = [];
  const ready: boolean[] = [];
  const readers = new StreamReaders(count, (i, onReady) => {
    reports[i] = onReady;
    return {
      start: () => calls.push(`start ${i}`),
      stop: async () => void calls.push(`stop ${i}`),
      caughtUp: async () => void calls.push(`caughtUp ${i}`),
    } as unknown as StreamReader;
  }, (r) => ready.push(r));
  return { readers, reports, calls, ready };
}

describe('ingest: StreamReaders (one reader per endpoint, as one)', () => {
  it('is ready only while every reader is: one shard that cannot be read makes /readyz 503', () => {
    const { reports, ready } = fakeReaders(3);
    reports[0](true);
    reports[1](true);
    expect(ready).to.deep.equal([]);
    reports[2](true);
    expect(ready).to.deep.equal([true]);
    reports[1](false);
    reports[2](false);
    expect(ready).to.deep.equal([true, false]);
    reports[1](true);
    expect(ready).to.deep.equal([true, false]);
    reports[2](true);
    expect(ready).to.deep.equal([true, false, true]);
  });

  it('starts, stops and waits for every reader to catch up', async () => {
    const { readers, calls } = fakeReaders(2);
    readers.start();
    await readers.caughtUp();
    await readers.stop();
    expect(calls).to.deep.equal(['start 0', 'start 1', 'caughtUp 0', 'caughtUp 1', 'stop 0', 'stop 1']);
  });
});
