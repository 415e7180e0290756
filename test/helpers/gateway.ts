/** Runs the real gateway binary (dist/cli.js) as a child process, the way users run it. */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { track } from './processes';
import { onLines } from '../../src/lines';

export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}: run the compiled tests inside the repository`);
    dir = dirname(dir);
  }
  return dir;
}

export const CLI = join(repoRoot(), 'dist', 'cli.js');

export interface GatewayProcess {
  port: number;
  url: string;
  http: string;
  child: ChildProcess;
  logs: string[];
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface GatewayLaunch {
  /** Runs the gateway under `ulimit -n` of this many descriptors (soft and hard). */
  maxOpenFiles?: number;
}

/** Starts `tickgate gateway` on a free port and resolves once it logs "serving". */
export async function startGateway(redisUrl: string, flags: string[] = [], launch: GatewayLaunch = {}): Promise<GatewayProcess> {
  const args = [CLI, 'gateway', '--port', '0', '--host', '127.0.0.1', '--redis', redisUrl, '--instance', 'test', ...flags];
  // exec keeps the pid: the child is the gateway itself, for signals and /proc.
  const child = track(launch.maxOpenFiles === undefined
    ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('bash', ['-c', `ulimit -n ${launch.maxOpenFiles} && exec "$0" "$@"`, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    onLines(child.stdout!, (line) => {
      logs.push(line);
      if (line.includes('"msg":"serving"')) resolve(JSON.parse(line).port as number);
    });
    child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    void exited.then((code) => reject(new Error(`gateway exited (${code}) before serving:\n${logs.join('\n')}`)));
  });
  return {
    port,
    url: `ws://127.0.0.1:${port}/v1/stream`,
    http: `http://127.0.0.1:${port}`,
    child,
    logs,
    exited,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Reads one metric's value (sum over label sets matching `labels`) from /metrics. */
export async function metricValue(http: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + ' ') && !line.startsWith(name + '{')) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * Polls `check` every `pollMs` (a check that scrapes /metrics loads the gateway: poll those gently). A check that
 * throws counts as not yet true (a request can land on a worker that is restarting); the last error is reported if
 * the condition never holds.
 */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000, pollMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last check failed: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export async function readyStatus(http: string): Promise<number> {
  try {
    return (await fetch(`${http}/readyz`)).status;
  } catch {
    return 0;
  }
}
