/** The shape of a benchmark run's results: what run.ts measures and report.ts and the JSON file present. */
import { MachineInfo } from './machine';
import { IdleMemoryResult } from './memory';
import { BenchOptions } from './options';
import { StepResult } from './step';

export interface SystemResult {
  id: string;
  label: string;
  idleMemory: IdleMemoryResult;
  ramp: StepResult[];
  /** tickgate only: a step at half the highest sustained rate (the latency target's load). */
  halfLoad?: StepResult;
  /** tickgate only: the half-load step with clients spread over json, json+lz4, bin, bin+lz4. */
  mixedFormats?: StepResult;
  /** tickgate only: one client on every symbol at the ingest rate. */
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
