/**
 * Runs Debian's nginx on the example src/deploy/nginx.conf with only its listen port and gateway addresses
 * replaced, inside a minimal main configuration of its own (pid, logs and temp paths in a temporary directory, so
 * nothing of the system's nginx is touched). `nginx -t` must accept it before it starts. stop() removes every
 * process and file it started.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/net';
import { repoRoot, waitUntil } from './gateway';
import { track } from './processes';

export const NGINX_CONF = join(repoRoot(), 'src', 'deploy', 'nginx.conf');
/** /usr/sbin is not on every user's PATH. */
export const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
/** The example's placeholders: its listen port and its two gateways. */
const EXAMPLE_LISTEN = 'listen 9000;';
const EXAMPLE_GATEWAYS = ['127.0.0.1:9001', '127.0.0.1:9002'];

export interface Nginx {
  url: string;
  /** nginx -t's output for the configuration it runs. */
  checked: string;
  stop(): Promise<void>;
}

export class NginxStartError extends Error {
  readonly code = 'TEST_NGINX_START_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'NginxStartError';
  }
}

/** The example with its placeholders replaced; every placeholder must be there exactly once. */
function instantiate(example: string, port: number, gateways: [string, string]): string {
  let text = example;
  for (const [from, to] of [[EXAMPLE_LISTEN, `listen 127.0.0.1:${port};`], ...EXAMPLE_GATEWAYS.map((g, i) => [g, gateways[i]])]) {
    if (text.split(from).length !== 2) throw new NginxStartError(`${NGINX_CONF} must contain "${from}" exactly once`);
    text = text.replace(from, to);
  }
  return text;
}

export async function startNginx(gateways: [string, string]): Promise<Nginx> {
  if (!existsSync(NGINX)) throw new NginxStartError(`nginx not found at ${NGINX}: install it (Debian/Ubuntu: \`apt-get install nginx\`) or set NGINX_PATH`);
  const dir = mkdtempSync(join(tmpdir(), 'tickgate-nginx-'));
  const port = await freePort();
  writeFileSync(join(dir, 'tickgate.conf'), instantiate(readFileSync(NGINX_CONF, 'utf8'), port, gateways));
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `${k}_temp_path ${join(dir, k)};`).join(' ');
  writeFileSync(join(dir, 'nginx.conf'), `daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
worker_processes 1;
events { worker_connections 1024; }
http { access_log off; ${temp} include ${join(dir, 'tickgate.conf')}; }
`);
  const args = ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')];
  let checked: string;
  try {
    const t = await promisify(execFile)(NGINX, ['-t', ...args]);
    checked = t.stderr;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new NginxStartError(`nginx -t refused the configuration: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`);
  }
  const child = track(spawn(NGINX, args, { stdio: 'ignore' }));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    // SIGTERM: fast shutdown (SIGQUIT would wait for every WebSocket); the master takes its workers with it.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil('nginx answering', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 10_000, 50);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `ws://127.0.0.1:${port}/v1/stream`, checked, stop };
}
