import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pingRedis } from '../../src/demo/private-redis';
import { freePort } from '../../src/net';
import { CLI, repoRoot, waitUntil } from '../helpers/gateway';
import { privateRedis } from '../helpers/redis';
import { killAll, track } from '../helpers/processes';
import { TestClient } from '../helpers/ws-client';

describe('make run (the demo)', function () {
  this.timeout(120_000);
  after(killAll);

  it('starts a private redis-server when no Redis answers, serves ticks, and stops everything on Ctrl-C', async () => {
    // A port nothing listens on stands in for "no local Redis", so the test never touches a real one.
    const nothing = await freePort();
    const make = track(spawn('make', ['--no-print-directory', 'run'], {
      cwd: repoRoot(), detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TICKGATE_LOCAL_REDIS_URL: `redis://127.0.0.1:${nothing}`, TICKGATE_PORT: '0', TICKGATE_LOG_LEVEL: 'warn' },
    }));
    let out = '';
    make.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    make.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      make.once('exit', (code, signal) => resolve({ code, signal })));
    await waitUntil('demo serving', () => /serving ws:\/\/\S+/.test(out), 90_000);
    const url = /serving (ws:\/\/\S+)/.exec(out)![1];
    const redisPort = Number(/redis: redis:\/\/127\.0\.0\.1:(\d+) \(private/.exec(out)?.[1]);
    expect(redisPort, 'a private redis-server was started').to.be.greaterThan(0);
    expect(await pingRedis('127.0.0.1', redisPort)).to.equal(true);

    const client = await TestClient.connect(url);
    await client.request({ op: 'subscribe', symbols: ['BTC-USD', 'ETH-USD'] });
    await waitUntil('ticks from the demo producer', () => client.tickCount() >= 5, 10_000);
    client.close();

    // Ctrl-C reaches the whole foreground group: make, and the demo under it.
    process.kill(-make.pid!, 'SIGINT');
    const { code, signal } = await exited;
    // make re-raises SIGINT on itself after its child has exited; the demo's own clean exit is what we check.
    expect(code === 0 || signal === 'SIGINT', `make ended with ${code}/${signal}`).to.equal(true);
    expect(out).to.contain('tickgate demo: stopped cleanly');
    expect(await pingRedis('127.0.0.1', redisPort)).to.equal(false);
  });

  /** The local addresses of the sockets listening on `port`, from the kernel's tables (hex as in /proc/net/tcp*). */
  function listeners(port: number): string[] {
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((table) => readFileSync(table, 'utf8').split('\n').slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => f.length > 3 && f[3] === '0A' && f[1].endsWith(':' + hexPort))
      .map((f) => f[1].slice(0, f[1].indexOf(':'))));
  }

  /** Runs `tickgate demo` with `flags` until it serves; returns its port and a stop function. */
  async function demo(redisUrl: string, flags: string[]): Promise<{ port: number; stop(): Promise<void> }> {
    const child = track(spawn(process.execPath, [CLI, 'demo', '--redis', redisUrl, '--port', '0', '--log-level', 'warn', ...flags],
      { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await waitUntil('demo serving', () => /serving ws:\/\/[^:]+:\d+/.test(out), 30_000);
    return { port: Number(/serving ws:\/\/[^:]+:(\d+)/.exec(out)![1]), stop: () => (child.kill('SIGINT'), exited) };
  }

  it('listens on 127.0.0.1 only, unless --host says otherwise', async () => {
    const redis = await privateRedis();
    try {
      const local = await demo(redis.url, []);
      // Every worker's listen socket: all on 127.0.0.1.
      expect(new Set(listeners(local.port))).to.deep.equal(new Set(['0100007F']));
      await local.stop();
      const shared = await demo(redis.url, ['--host', '0.0.0.0']);
      expect(new Set(listeners(shared.port))).to.deep.equal(new Set(['00000000']));
      await shared.stop();
    } finally {
      await redis.stop();
    }
  });
});
