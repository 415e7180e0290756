import { expect } from 'chai';
import { PrivateRedis } from '../../src/demo/private-redis';
import { Helper, startLoadgen, startProducer, subscribeWorkload } from '../../src/bench/helpers';
import { runStep, StepResult } from '../../src/bench/step';
import { allSystems, gatewaySupportsWorkers, RunningSystem, startSystem, SystemSpec } from '../../src/bench/systems';
import { Workload } from '../../src/bench/workload';
import { killAll } from '../helpers/processes';
import { privateRedis } from '../helpers/redis';

const WORKLOAD: Workload = { clients: 40, symbols: 20, symbolsPerClient: 5, formats: ['json'] };
const MIXED: Workload = { ...WORKLOAD, formats: ['json', 'json+lz4', 'bin', 'bin+lz4'] };

/** One short step of the real benchmark pieces against one system: what the bench itself would measure. */
async function oneStep(spec: SystemSpec, redis: PrivateRedis, producer: Helper, cleanup: (() => Promise<void>)[], workload = WORKLOAD): Promise<StepResult> {
  const stream = `bench-smoke:${spec.id}`;
  const system: RunningSystem = await startSystem(spec, redis.url, stream, undefined);
  cleanup.push(system.stop);
  const loadgen = startLoadgen(spec.protocol, system.base, 2, undefined);
  cleanup.push(loadgen.stop);
  await subscribeWorkload(loadgen, workload);
  return runStep({ system, producer, loadgen, redisPid: redis.child.pid!, workload, stream }, { rate: 2000, seconds: 1, syscalls: false });
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

  it('counts every tick of every wire format in a mixed step, timed from ts, and from tus where the format carries it', async () => {
    const step = await oneStep(specs.find((s) => s.hasMetrics)!, redis, producer, cleanup, MIXED);
    expect(step.delivered).to.equal(step.expected);
    expect(step.invalidFrames, 'scanned counts agree with decodeFrame').to.equal(0);
    const counts = Object.fromEntries(Object.entries(step.formats).map(([f, l]) => [f, [l.ts.count, l.tus.count]]));
    const quarter = step.delivered / 4;
    expect(counts).to.deep.equal({ json: [quarter, quarter], 'json+lz4': [quarter, quarter], bin: [quarter, 0], 'bin+lz4': [quarter, 0] });
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
