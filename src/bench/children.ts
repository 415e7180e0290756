/**
 * Every process the benchmark starts goes through here: pinned to a CPU set with taskset, its open-files limit
 * raised to the hard limit by the shell that execs it (so the pid stays the process's own), registered so that an
 * exit of the orchestrator, however it happens, kills it.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { onLines } from '../lines';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export class ChildStartError extends Error {
  readonly code = 'BENCH_CHILD_START_FAILED';
  constructor(what: string, detail: string) {
    super(`${what} did not start: ${detail}`);
    this.name = 'ChildStartError';
  }
}

/** The checkout whose dist/ is benchmarked: above this file, or the working directory when compiled elsewhere. */
export function repoRoot(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return process.cwd();
}

export interface SpawnOptions {
  /** taskset CPU list such as "0" or "0-1"; undefined: not pinned. */
  cpus?: string;
  ipc?: boolean;
  /** Node flags before the script (a CPU profile, say). */
  nodeArgs?: string[];
}

/** `node script args` in a shell that raises `ulimit -n` and execs it, optionally under taskset. */
export function spawnNode(script: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const argv = [...(opts.cpus === undefined ? [] : ['taskset', '-c', opts.cpus]), process.execPath, ...(opts.nodeArgs ?? []), script, ...args];
  const child = spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', ...argv], {
    stdio: ['ignore', 'pipe', 'pipe', ...(opts.ipc ? ['ipc' as const] : [])],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Pins every thread of a process that was started elsewhere (the private redis-server). */
export function pinProcess(pid: number, cpus: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('taskset', ['-a', '-c', '-p', cpus, String(pid)], { stdio: 'ignore' });
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`taskset -p ${cpus} ${pid} exited ${code}`))));
  });
}

export interface Serving {
  child: ChildProcess;
  port: number;
  logs: string[];
}

/** Resolves with the port from the first JSON stdout line whose msg is "serving" (the gateway's and the peers'). */
export function whenServing(what: string, child: ChildProcess, timeoutMs = 15_000): Promise<Serving> {
  const logs: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new ChildStartError(what, `no "serving" line in ${timeoutMs} ms:\n${logs.join('\n')}`)), timeoutMs);
    onLines(child.stdout!, (line) => {
      if (logs.length < 200) logs.push(line);
      if (line.includes('"msg":"serving"')) {
        clearTimeout(timer);
        resolve({ child, port: (JSON.parse(line) as { port: number }).port, logs });
      }
    });
    child.stderr!.on('data', (d: Buffer) => logs.length < 200 && logs.push(d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new ChildStartError(what, `exited with ${code}:\n${logs.join('\n')}`));
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(killer);
}
