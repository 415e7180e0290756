import { expect } from 'chai';
import fs from 'node:fs';
import { aggregateMetrics, createMetrics } from '../../src/metrics/metrics';

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

describe('the process\'s /metrics text (aggregateMetrics)', () => {
  it('labels every series with the gateway\'s instance, worker threads\' included, and sums the threads per label set', async () => {
    const main = createMetrics({
      processMetrics: true,
      registryStats: async () => ({ subscriptions: 0, activeTopics: 0, activeSymbols: 0, sessionsByWorker: [1, 2], topicProbeSlots: 1 }),
    });
    const worker = createMetrics();
    main.connectionsOpened.inc(2);
    worker.connectionsOpened.inc(3);
    worker.connectionsClosed.inc({ reason: 'draining' });
    main.readBatchSize.observe(10);
    main.refreshRegistryStats();
    const { body } = await aggregateMetrics([await main.registry.getMetricsAsJSON(), await worker.registry.getMetricsAsJSON()], { instance: 'eu-1' });
    const samples = body.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(samples.length, 'process metrics included').to.be.greaterThan(50);
    expect(samples.filter((l) => !/[{,]instance="eu-1"[,}]/.test(l)), 'series without the instance label').to.deep.equal([]);
    expect(samples).to.include.members([
      'tickgate_connections_opened_total{instance="eu-1"} 5',
      'tickgate_connections_closed_total{reason="draining",instance="eu-1"} 1',
      'tickgate_connections_open{worker="1",instance="eu-1"} 2',
      'tickgate_read_batch_entries_bucket{le="16",instance="eu-1"} 1',
    ]);
  });
});
