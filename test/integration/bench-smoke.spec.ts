import { expect } from 'chai';
import { PrivateRedis } from '../../src/demo/private-redis';
import { Helper, startLoadgen, startProducer, subscribeWorkload } from '../../src/bench/helpers';
import { runStep, StepResult } from '../../src/bench/step';
import { allSystems, gatewaySupportsWorkers, RunningSystem, startSystem, SystemSpec } from '../../src/bench/systems';
import { Workload } from '../../src/bench/workload';
import { killAll } from '../helpers/processes';
import { privateRedis } from '../helpers/redis';

const WORKLOAD: Workload = { clients: 40, symbols: 20, symbolsPerClient: 5, formats: ['json'] };

/** One short step of the real benchmark pieces against one system: what the bench itself would measure. */
async function oneStep(spec: SystemSpec, redis: PrivateRedis, producer: Helper, cleanup: (() => Promise<void>)[]): Promise<StepResult> {
  const stream = `bench-smoke:${spec.id}`;
  const system: RunningSystem = await startSystem(spec, redis.url, stream, undefined);
  cleanup.push(system.stop);
  const loadgen = startLoadgen(spec.protocol, system.base, 2, undefined);
  cleanup.push(loadgen.stop);
  await subscribeWorkload(loadgen, WORKLOAD);
  return runStep({ system, producer, loadgen, redisPid: redis.child.pid!, workload: WORKLOAD, stream }, { rate: 2000, seconds: 1, syscalls: false });
}

describe('the benchmark harness (src/bench)', function () {
  this.timeout(40_000);
  let redis: PrivateRedis;
  let producer: Helper;
  const specs = allSystems(gatewaySupportsWorkers());
  const cleanup: (() => Promise<void>)[] = [];

  before(async () => {
    redis = await privateRedis();
    producer = startProducer(redis.url, undefined);
  });

  afterEach(async () => {
    for (const stop of cleanup.splice(0).reverse()) await stop();
  });

  after(async () => {
    await producer?.stop();
    await redis?.stop();
    killAll();
  });

  it("counts the same deliveries as tickgate's tickgate_ticks_delivered_total (within 1%), with no loss", async () => {
    const step = await oneStep(specs.find((s) => s.hasMetrics)!, redis, producer, cleanup);
    expect(step.sent).to.equal(2000);
    expect(step.gateway, 'gateway counters scraped').to.not.equal(undefined);
    expect(Math.abs(step.delivered - step.gateway!.delivered)).to.be.at.most(step.gateway!.delivered * 0.01);
    expect(step.delivered).to.equal(step.expected);
    expect(step.invalidFrames, 'scanned counts agree with decodeFrame').to.equal(0);
    expect(step.latency.count, 'a latency sample per tick').to.equal(step.delivered);
  });

  for (const id of ['ws-peer', 'socketio-peer']) {
    it(`receives every expected tick from the ${id}`, async () => {
      const step = await oneStep(specs.find((s) => s.id === id)!, redis, producer, cleanup);
      expect(step.expected).to.equal(2000 * 10);
      expect(step.delivered).to.equal(step.expected);
      expect(step.lossPct).to.equal(0);
      expect(step.closedByServer).to.equal(0);
      expect(step.invalidFrames).to.equal(0);
    });
  }
});
