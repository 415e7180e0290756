/**
 * A private, throw-away redis-server on a free loopback port (no persistence), for the demo, the tests and the
 * benchmark. It never touches a Redis it did not start.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { freePort } from '../net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class RedisServerMissingError extends Error {
  readonly code = 'REDIS_SERVER_MISSING';
  constructor() {
    super('redis-server is not on PATH: install it (Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install redis`) or pass --redis URL');
    this.name = 'RedisServerMissingError';
  }
}

export interface PrivateRedis {
  url: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** True if something answers PING with PONG at host:port within timeoutMs. */
export function pingRedis(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

export interface PrivateRedisOptions {
  /**
   * Persist every write (AOF, fsync always) in this directory, which outlives the server: a fault test restarts
   * Redis on it after a kill -9. Default: no persistence, in a temporary directory removed on stop.
   */
  appendOnlyDir?: string;
  /**
   * A Redis Cluster node (`--cluster-enabled yes`) that declares a node unreachable after this many ms (a test's
   * failover takes about twice that). Its cluster bus listens on port + 10000, which must be free too.
   */
  clusterNodeTimeoutMs?: number;
}

/** Starts redis-server on `port` (a free one by default) and resolves once it answers PING. */
export async function startPrivateRedis(port?: number, opts: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const p = port ?? (await freePort());
  const dir = opts.appendOnlyDir ?? mkdtempSync(join(tmpdir(), 'tickgate-redis-'));
  const persistence = opts.appendOnlyDir ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const cluster = opts.clusterNodeTimeoutMs === undefined ? []
    : ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${p}.conf`, '--cluster-node-timeout', String(opts.clusterNodeTimeoutMs)];
  const child = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', ...persistence, ...cluster,
    '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'],
    // Its own process group: a Ctrl-C meant for us must not kill Redis before we have shut down in order.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new RedisServerMissingError() : err)));
  const stop = async () => {
    process.removeListener('exit', orphanGuard);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    }
    if (!opts.appendOnlyDir) rmSync(dir, { recursive: true, force: true });
  };
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      if (await pingRedis('127.0.0.1', p, 200)) return;
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not answer on port ${p}: ${stderr.trim()}`);
  })();
  try {
    await Promise.race([ready, spawnError]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${p}`, port: p, child, stop };
}
