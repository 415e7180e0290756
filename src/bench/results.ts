/** The shape of a benchmark run's results: what run.ts measures and report.ts and the JSON file present. */
import { MachineInfo } from './machine';
import { IdleMemoryResult } from './memory';
import { NoSubscribersResult } from './no-subscribers';
import { BenchOptions } from './options';
import { FormatName } from '../wire/formats';
import { FormatLatency, StepResult } from './step';
import { rateForLoad } from './workload';

export interface SystemResult {
  id: string;
  label: string;
  idleMemory: IdleMemoryResult;
  /** Steps with the run's workload, lowest rate first: the fixed loads, and unless fixedOnly the ramp around them. */
  ramp: StepResult[];
  /** Measured at the fixed loads only: its highest sustained step is not its limit. */
  fixedOnly: boolean;
  /** The everyday-load step: its own clients (options.everyday), one rate. */
  everyday?: StepResult;
  /** No client connected while the producer writes: the cost of ingest alone. */
  noSubscribers?: NoSubscribersResult;
  /** Primary only: a step at half the highest sustained rate (the latency target's load). */
  halfLoad?: StepResult;
  /** Primary only: the half-load step with clients spread over json, json+lz4, bin, bin+lz4. */
  mixedFormats?: StepResult;
  /** Primary only: one client on every symbol at the ingest rate. */
  ingest?: StepResult;
}

export interface BenchResults {
  startedAt: string;
  seconds: number;
  machine: MachineInfo;
  /** 1/5/15-minute load average when the run ended: on a shared machine, the measure of how noisy it was. */
  loadAverageAtEnd: number[];
  options: BenchOptions;
  gatewayWorkersFlag: boolean;
  systems: SystemResult[];
  maxConnections?: IdleMemoryResult;
}

/** The highest-throughput sustained step (no loss, p99 < 50 ms) whose p99 is also within `p99Ms`. */
export function bestStep(steps: StepResult[], p99Ms = Infinity): StepResult | undefined {
  return steps
    .filter((s) => s.sustained && s.latency.p99Ms <= p99Ms)
    .reduce<StepResult | undefined>((best, s) => (best === undefined || s.deliveredPerS > best.deliveredPerS ? s : best), undefined);
}

/** The system's step at a fixed load (offered deliveries/s), if it ran one. */
export function stepAtLoad(r: BenchResults, sys: SystemResult, load: number): StepResult | undefined {
  const rate = rateForLoad(r.options.workload, load);
  return sys.ramp.find((s) => s.rate === rate);
}

/** Gateway CPU-seconds per million deliveries: the cost of a delivery, comparable across systems at one load. */
export function cpuPerMillion(s: StepResult): number {
  return (1e6 * s.serverCpuSeconds) / s.delivered;
}

/** The first tickgate system of the run: the one that gets the extra steps and that the targets judge. */
export function primarySystem(r: BenchResults): SystemResult | undefined {
  return r.systems.find((s) => s.id.startsWith('tickgate'));
}

/** A step's latency per wire format, in the order the formats were served. */
export function formatLatencies(s: StepResult): [FormatName, FormatLatency][] {
  return Object.entries(s.latencyByFormat) as [FormatName, FormatLatency][];
}

export const WS_PEER = 'ws-peer';
export const SOCKETIO_PEER = 'socketio-peer';
export const RELAY = 'uws-relay';
