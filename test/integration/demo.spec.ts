import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { pingRedis } from '../../src/demo/private-redis';
import { freePort } from '../../src/net';
import { repoRoot, waitUntil } from '../helpers/gateway';
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
});
