import { expect } from 'chai';
import { IdleMemoryResult } from '../../src/bench/memory';
import { BenchOptions, benchOptions } from '../../src/bench/options';
import { BenchResults, SystemResult } from '../../src/bench/results';
import { StepResult } from '../../src/bench/step';
import { TargetRow, targetRows } from '../../src/bench/targets';

/** The full run's options: 1,000 clients × 10 of 100 symbols, fixed loads 25k, 100k, 200k (rates 250, 1000, 2000). */
const OPTIONS = benchOptions(['--no-pin'], {}) as BenchOptions;

const IDLE: IdleMemoryResult = {
  target: 1000, attempted: 1000, opened: 1000, failed: 0, rssBeforeMiB: 100, rssAfterMiB: 101, bytesPerConnection: 1024, openSeconds: 1,
};

/** A sustained 5-second step at `rate` with 100 subscribers per symbol, costing `cpuPerM` CPU-s per M deliveries. */
function step(rate: number, cpuPerM: number, over: Partial<StepResult> = {}): StepResult {
  const delivered = rate * 100 * 5;
  const latency = { count: delivered, p50Ms: 0.5, p99Ms: 2, p999Ms: 3, maxMs: 4 };
  const serverCpuSeconds = (cpuPerM * delivered) / 1e6;
  return {
    rate, offeredDeliveriesPerS: rate * 100, seconds: 5, producedRate: rate, sent: rate * 5, expected: delivered, delivered,
    lossPct: 0, closedByServer: 0, invalidFrames: 0, windowS: 5, deliveredPerS: delivered / 5, framesPerS: delivered / 5, bytesPerS: 0,
    latency, latencyMsRes: latency, latencyByFormat: {}, cpuPct: { server: 50, redis: 10, producer: 10, loadgen: 20 },
    serverCpuSeconds, deliveriesPerServerCpuS: delivered / serverCpuSeconds, serverRssMiB: 100, sustained: true, ...over,
  };
}

function system(id: string, cpuPerM: number, over: Partial<SystemResult> = {}): SystemResult {
  return {
    id, label: id, idleMemory: IDLE, fixedOnly: false, ramp: [250, 1000, 2000].map((rate) => step(rate, cpuPerM)),
    everyday: step(1000, cpuPerM), ...over,
  };
}

function results(...systems: SystemResult[]): BenchResults {
  return {
    startedAt: '2026-01-01T00:00:00.000Z', seconds: 1, loadAverageAtEnd: [0, 0, 0], options: OPTIONS, gatewayWorkersFlag: true, systems,
    machine: { cpuModel: 'test', cores: 2, memoryGiB: 1, node: 'v20', kernel: 'test', loadAverage: [0, 0, 0], redis: '7' },
  };
}

function row(r: BenchResults, startOfTarget: string): TargetRow {
  const found = targetRows(r).find((t) => t.target.startsWith(startOfTarget));
  expect(found, startOfTarget).to.not.equal(undefined);
  return found!;
}

describe('bench targets: each judged from the figures of one run', () => {
  it("meets the everyday CPU target at up to 1.15× the raw relay's CPU per delivery, and not above", () => {
    expect(row(results(system('tickgate', 11), system('uws-relay', 10)), 'everyday load').met).to.equal('yes');
    expect(row(results(system('tickgate', 12), system('uws-relay', 10)), 'everyday load').met).to.equal('no');
  });

  it('does not count a cost target as met when tickgate lost ticks in that step, however cheap the step was', () => {
    const lossy = step(1000, 5, { lossPct: 1, sustained: false });
    const r = results(system('tickgate', 5, { everyday: lossy }), system('uws-relay', 10));
    expect(row(r, 'everyday load').met).to.equal('no');
    expect(row(r, 'everyday load').measured).to.include('not sustained');
  });

  it('reports a comparison as not measured, never as met, when the system compared with was not run', () => {
    const r = results(system('tickgate', 1));
    expect(row(r, 'everyday load').met).to.equal('not measured');
    expect(row(r, '200,000 offered deliveries/s').met).to.equal('not measured');
  });

  it("compares CPU per delivery at the heaviest fixed load with the ws peer's step at the same load", () => {
    const ws = system('ws-peer', 30, { ramp: [step(250, 1), step(1000, 1), step(2000, 30)] });
    expect(row(results(system('tickgate', 9), ws), '200,000 offered deliveries/s').met).to.equal('yes');
    expect(row(results(system('tickgate', 11), ws), '200,000 offered deliveries/s').met).to.equal('no');
  });

  it("meets the light-load target through the relay's figures when the absolute bounds are missed", () => {
    const slow = (p50Ms: number, p99Ms: number) => step(250, 10, { latency: { count: 1, p50Ms, p99Ms, p999Ms: p99Ms, maxMs: p99Ms } });
    const tickgate = system('tickgate', 10, { ramp: [slow(1.2, 4), step(1000, 10), step(2000, 10)] });
    const relay = (p50Ms: number, p99Ms: number) => system('uws-relay', 10, { ramp: [slow(p50Ms, p99Ms), step(1000, 10), step(2000, 10)] });
    expect(row(results(tickgate, relay(1, 3)), 'light load').met).to.equal('yes');
    expect(row(results(tickgate, relay(1, 2)), 'light load').met).to.equal('no');
  });

  it("holds tickgate's everyday p99 to within 2 ms of the relay's", () => {
    const p99 = (p99Ms: number) => step(1000, 10, { latency: { count: 1, p50Ms: 0.5, p99Ms, p999Ms: p99Ms, maxMs: p99Ms } });
    expect(row(results(system('tickgate', 10, { everyday: p99(3.9) }), system('uws-relay', 10, { everyday: p99(2) })), 'everyday load: p99').met).to.equal('yes');
    expect(row(results(system('tickgate', 10, { everyday: p99(4.1) }), system('uws-relay', 10, { everyday: p99(2) })), 'everyday load: p99').met).to.equal('no');
  });

  it("holds every wire format's p99 to twice JSON's in the step that served them together", () => {
    const format = (p99Ms: number, resolution: 'µs' | 'ms') => ({ ticks: 1, resolution, latency: { count: 1, p50Ms: 1, p99Ms, p999Ms: p99Ms, maxMs: p99Ms } });
    const mixed = (binP99: number) => step(1000, 10, { latencyByFormat: { json: format(3, 'µs'), 'json+lz4': format(4, 'µs'), bin: format(binP99, 'ms') } });
    expect(row(results(system('tickgate', 10, { mixedFormats: mixed(6) })), 'every wire format').met).to.equal('yes');
    const over = row(results(system('tickgate', 10, { mixedFormats: mixed(7) })), 'every wire format');
    expect(over.met).to.equal('no');
    expect(over.measured).to.include('worst bin 2.33×');
  });

  it('judges the no-subscribers target on CPU µs per ingested tick, idle CPU included', () => {
    const noSubscribers = (usPerTick: number) => ({
      rate: 10_000, producedRate: 10_000, sent: 50_000, read: 50_000, windowS: 5, serverCpuSeconds: usPerTick * 0.05,
      serverCpuPct: usPerTick, idleCpuPct: 1, usPerTick, usPerTickAboveIdle: usPerTick - 1,
    });
    expect(row(results(system('tickgate', 10, { noSubscribers: noSubscribers(2) })), 'no subscribers').met).to.equal('yes');
    expect(row(results(system('tickgate', 10, { noSubscribers: noSubscribers(2.5) })), 'no subscribers').met).to.equal('no');
  });

  it('judges the first tickgate system of the run, not the best of its variants', () => {
    const lean = { ...IDLE, bytesPerConnection: 1000 };
    const r = results(system('tickgate', 10, { idleMemory: { ...IDLE, bytesPerConnection: 4000 } }), system('tickgate-w1', 10, { idleMemory: lean }));
    expect(row(r, '≤ 2 KiB RSS per idle connection').met).to.equal('no');
  });
});
