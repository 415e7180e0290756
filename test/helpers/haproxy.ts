/**
 * Runs Debian's haproxy on the shipped configuration, src/deploy/haproxy.cfg, exactly as a user would: the file is
 * not copied or edited, only its environment variables are set (a free loopback port, the gateways, an admin socket
 * in a temporary directory). Master-worker mode (-W), as Debian's systemd unit runs it, so that a reload is the
 * same SIGUSR2. Every process and file it starts is gone after stop(), and killed by the process registry if a test
 * fails before that.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/net';
import { onLines } from '../../src/lines';
import { repoRoot, waitUntil } from './gateway';
import { track } from './processes';

export const HAPROXY_CFG = join(repoRoot(), 'src', 'deploy', 'haproxy.cfg');
/** /usr/sbin is not on every user's PATH. */
export const HAPROXY = process.env.HAPROXY_PATH ?? '/usr/sbin/haproxy';

export interface HaproxyOptions {
  /** host:port of each gateway: TICKGATE_LB_GATEWAY_1.. in this order (gw1, gw2, ...). */
  gateways: string[];
  /** Other TICKGATE_LB_* variables of the configuration (check interval, hard-stop-after, per-IP limit). */
  env?: Record<string, string>;
}

/** One row of `show stat` for a server. */
export interface ServerStat {
  /** UP, DOWN, "UP 1/2" while going down, "no check" with its health check disabled. */
  status: string;
  /** Open sessions (scur). */
  sessions: number;
  /** Sessions ever sent to it, including attempts it refused (stot). */
  total: number;
  /** Requests switched away from it to another server (wredis). */
  redispatched: number;
}

export interface Haproxy {
  port: number;
  url: string;
  http: string;
  /** haproxy's stderr (master and workers): state changes, reloads, alerts. */
  logs: string[];
  /** The backend's servers by name (gw1, gw2, ...), from the admin socket. */
  servers(): Promise<Map<string, ServerStat>>;
  /** A runtime API command (`disable health gateways/gw1`, `show table tickgate`); its answer. */
  admin(command: string): Promise<string>;
  waitForStatus(server: string, status: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  /** SIGUSR2 to the master, like `systemctl reload haproxy`; resolves once the new worker is loaded. */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export class HaproxyStartError extends Error {
  readonly code = 'TEST_HAPROXY_START_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'HaproxyStartError';
  }
}

/** One command on the runtime API socket; resolves with the whole answer (HAProxy closes after it). */
function adminCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let answer = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (answer += d));
    sock.once('error', reject);
    sock.once('end', () => resolve(answer));
    sock.once('connect', () => sock.write(command + '\n'));
  });
}

function parseServers(csv: string): Map<string, ServerStat> {
  const [header, ...rows] = csv.trim().split('\n');
  const cols = header.replace(/^# /, '').split(',');
  const at = (name: string) => cols.indexOf(name);
  const out = new Map<string, ServerStat>();
  for (const row of rows) {
    const f = row.split(',');
    if (f[at('pxname')] !== 'gateways' || f[at('svname')] === 'BACKEND') continue;
    out.set(f[at('svname')], {
      status: f[at('status')], sessions: Number(f[at('scur')]), total: Number(f[at('stot')]), redispatched: Number(f[at('wredis')]),
    });
  }
  return out;
}

export async function startHaproxy(opts: HaproxyOptions): Promise<Haproxy> {
  if (!existsSync(HAPROXY)) throw new HaproxyStartError(`haproxy not found at ${HAPROXY}: install it (Debian/Ubuntu: \`apt-get install haproxy\`) or set HAPROXY_PATH`);
  const dir = mkdtempSync(join(tmpdir(), 'tickgate-haproxy-'));
  const adminSocket = join(dir, 'admin.sock');
  const port = await freePort();
  // Health checks every 250 ms (the file's default is 1 s), so that a spec sees a server go down and up in seconds.
  const env: NodeJS.ProcessEnv = { ...process.env, TICKGATE_LB_CHECK_INTER: '250ms', ...opts.env, TICKGATE_LB_BIND: `127.0.0.1:${port}`, TICKGATE_LB_ADMIN_SOCKET: adminSocket };
  opts.gateways.forEach((g, i) => (env[`TICKGATE_LB_GATEWAY_${i + 1}`] = g));
  const child: ChildProcess = track(spawn(HAPROXY, ['-W', '-db', '-f', HAPROXY_CFG], { env, stdio: ['ignore', 'ignore', 'pipe'] }));
  const logs: string[] = [];
  let loaded = 0;
  onLines(child.stderr!, (line) => {
    logs.push(line);
    if (line.includes('Loading success.')) loaded++;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const servers = async () => parseServers(await adminCommand(adminSocket, 'show stat'));
  const stop = async () => {
    // SIGTERM: the master stops its workers at once (a soft stop would wait for every WebSocket).
    if (!gone) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const failIfGone = () => {
    if (gone) throw new HaproxyStartError(`haproxy exited:\n${logs.join('\n')}`);
  };
  try {
    await waitUntil('haproxy loaded', () => (failIfGone(), loaded === 1), 10_000);
    // Servers start UP; wait until every one has had its first check, so a test starts from checked states.
    await waitUntil('first health checks', async () => {
      failIfGone();
      const csv = await adminCommand(adminSocket, 'show stat');
      const [header, ...rows] = csv.trim().split('\n');
      const checkStatus = header.replace(/^# /, '').split(',').indexOf('check_status');
      return rows.filter((r) => r.startsWith('gateways,gw')).every((r) => !r.split(',')[checkStatus].startsWith('INI'));
    }, 10_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    url: `ws://127.0.0.1:${port}/v1/stream`,
    http: `http://127.0.0.1:${port}`,
    logs,
    servers,
    admin: (command) => adminCommand(adminSocket, command),
    waitForStatus: (server, status, timeoutMs = 10_000) =>
      waitUntil(`haproxy to mark ${server} ${status}`, async () => (await servers()).get(server)?.status === status, timeoutMs, 100),
    reload: async () => {
      const before = loaded;
      child.kill('SIGUSR2');
      await waitUntil('haproxy reloaded', () => (failIfGone(), loaded > before), 10_000);
    },
    stop,
  };
}
