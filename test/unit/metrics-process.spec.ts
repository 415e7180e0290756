import { expect } from 'chai';
import fs from 'node:fs';
import { createMetrics } from '../../src/metrics/metrics';

async function openFds(registry: ReturnType<typeof createMetrics>['registry']): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'tickgate_process_open_fds');
  return Number((m as { values: { value: number }[] }).values[0].value);
}

describe('process metrics', () => {
  it('counts open file descriptors, moving by the number opened', async function () {
    if (process.platform !== 'linux') this.skip();
    const { registry } = createMetrics({ processMetrics: true });
    const before = await openFds(registry);
    const fds = Array.from({ length: 64 }, () => fs.openSync('/dev/null', 'r'));
    try {
      expect(await openFds(registry)).to.equal(before + 64);
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
  });

  it('never lists /proc/self/fd synchronously, which blocks the event loop for milliseconds with thousands of sockets', async function () {
    if (process.platform !== 'linux') this.skip();
    const { registry } = createMetrics({ processMetrics: true });
    const readdirSync = fs.readdirSync;
    const syncReads: string[] = [];
    fs.readdirSync = ((path: fs.PathLike, ...rest: unknown[]) => {
      syncReads.push(String(path));
      return (readdirSync as (...a: unknown[]) => unknown)(path, ...rest);
    }) as typeof fs.readdirSync;
    try {
      expect(await openFds(registry)).to.be.above(0);
    } finally {
      fs.readdirSync = readdirSync;
    }
    expect(syncReads).to.deep.equal([]);
  });
});
