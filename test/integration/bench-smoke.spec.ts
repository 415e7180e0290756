import { expect } from 'chai';
import { PrivateRedis } from '../../src/demo/private-redis';
import { Helper, startLoadgen, startProducer, subscribeWorkload } from '../../src/bench/helpers';
import { measureNoSubscribers } from '../../src/bench/no-subscribers';
import { runStep, StepResult } from '../../src/bench/step';
import { allSystems, gatewaySupportsWorkers, RunningSystem, startSystem, SystemSpec } from '../../src/bench/systems';
import { Workload } from '../../src/bench/workload';
import { killAll } from '../helpers/processes';
import { privateRedis } from '../helpers/redis';

const WORKLOAD: Workload = { clients: 40, symbols: 20, symbolsPerClient: 5, formats: ['json'] };
const MIXED: Workload = { ...WORKLOAD, formats: ['json', 'json+lz4', 'bin', 'bin+lz4'] };

let started = 0;

/** A system on a stream of its own, so no test sees another's entries or consumer group. */
async function start(spec: SystemSpec, redis: PrivateRedis, cleanup: (() => Promise<void>)[]): Promise<{ system: RunningSystem; stream: string }> {
  const stream = `bench-smoke:${spec.id}:${++started}`;
  const system = await startSystem(spec, redis.url, stream, undefined);
  cleanup.push(system.stop);
  return { system, stream };
}

/** One short step of the real benchmark pieces against one system: what the bench itself would measure. */
async function oneStep(spec: SystemSpec, redis: PrivateRedis, producer: Helper, cleanup: (() => Promise<void>)[], workload = WORKLOAD): Promise<StepResult> {
  const { system, stream } = await start(spec, redis, cleanup);
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

  it('counts each wire format apart: every format has its ticks and its latency, and together they are the total', async () => {
    const step = await oneStep(specs.find((s) => s.id === 'tickgate')!, redis, producer, cleanup, MIXED);
    expect(step.delivered).to.equal(step.expected);
    const byFormat = step.latencyByFormat;
    expect(Object.keys(byFormat).sort()).to.deep.equal(['bin', 'bin+lz4', 'json', 'json+lz4']);
    expect(Object.values(byFormat).reduce((n, f) => n + f.ticks, 0)).to.equal(step.delivered);
    // Every format is timed from `ts`, which all carry; the scan of JSON and json+lz4 agrees with decodeFrame.
    for (const f of Object.values(byFormat)) expect(f.latency.count, 'a latency sample per tick of the format').to.equal(f.ticks);
    expect(step.invalidFrames, 'scanned counts agree with decodeFrame').to.equal(0);
    expect(byFormat.json!.ticks).to.equal(step.delivered / 4);
  });

  it('charges the gateway CPU of the no-subscribers step to every tick it read, with no client connected', async () => {
    const { system, stream } = await start(specs.find((s) => s.id === 'tickgate')!, redis, cleanup);
    const r = await measureNoSubscribers(system, producer, stream, 20, 2000, 1);
    expect(r.sent).to.equal(2000);
    expect(r.read, 'tickgate_ticks_read_total over the step').to.equal(r.sent);
    expect(r.serverCpuSeconds).to.be.greaterThan(0);
    expect(r.usPerTick).to.be.closeTo((1e6 * r.serverCpuSeconds) / r.sent, 1e-9);
  });

  for (const id of ['ws-peer', 'socketio-peer', 'uws-relay']) {
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
