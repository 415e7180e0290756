import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PrivateRedis } from '../../src/demo/private-redis';
import { freePort } from '../../src/net';
import { CLOSES } from '../../src/protocol/codes';
import { CLI, GatewayProcess, metricValue, readyStatus, startGateway, waitUntil } from '../helpers/gateway';
import { killAll, track } from '../helpers/processes';
import { privateRedis } from '../helpers/redis';
import { TestClient } from '../helpers/ws-client';

/** Runs the CLI to its exit; resolves with the code and stderr. */
function runCli(args: string[], nodeArgs: string[] = []): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = track(spawn(process.execPath, [...nodeArgs, CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] }));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

describe('operations: CLI exit codes, health endpoints, metrics port, shutdown deadline', function () {
  this.timeout(30_000);
  let redis: PrivateRedis;
  const gateways: GatewayProcess[] = [];

  before(async () => {
    redis = await privateRedis();
  });

  afterEach(async () => {
    for (const g of gateways.splice(0)) await g.stop('SIGKILL');
  });

  after(async () => {
    await redis.stop();
    killAll();
  });

  it('exits 2 with the option named for invalid configuration or an unknown command', async () => {
    expect(await runCli(['gateway', '--read-count', 'many'])).to.deep.equal({ code: 2, stderr: 'tickgate: --read-count (readCount): "many" is not an integer\n' });
    expect(await runCli(['gateway', '--no-such-flag'])).to.deep.equal({ code: 2, stderr: 'tickgate: unknown option --no-such-flag; see --help\n' });
    const unknown = await runCli(['serve']);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.match(/^tickgate: unknown command "serve"/);
  });

  it('exits 3 naming the platform when the uWebSockets.js native addon cannot load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickgate-no-uws-'));
    const preload = join(dir, 'no-uws.js');
    // Stands in for a platform without a prebuilt addon: resolving the package fails as a missing .node file does.
    writeFileSync(preload, `const M = require('module'); const r = M._resolveFilename;
M._resolveFilename = function (req, ...rest) { if (req === 'uWebSockets.js') throw new Error('uws_linux_x64_999.node: cannot open shared object file'); return r.call(this, req, ...rest); };`);
    try {
      const { code, stderr } = await runCli(['gateway', '--port', '0', '--redis', redis.url], ['-r', preload]);
      expect(code).to.equal(3);
      expect(stderr).to.match(/^tickgate: uWebSockets\.js could not load its native addon for this platform \(node [\d.]+, linux-x64, ABI \d+\)\./);
      expect(stderr).to.include('Cause: uws_linux_x64_999.node: cannot open shared object file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers /healthz with 200 and every worker alive, and unknown paths with 404 NOT_FOUND', async () => {
    const g = await startGateway(redis.url, ['--workers', '2']);
    gateways.push(g);
    const health = await fetch(`${g.http}/healthz`);
    expect(health.status).to.equal(200);
    expect(await health.json()).to.deep.equal({ status: 'ok', workersAlive: 2, workers: 2 });
    const missing = await fetch(`${g.http}/nope`);
    expect(missing.status).to.equal(404);
    expect(await missing.json()).to.deep.equal({ error: 'NOT_FOUND' });
  });

  it('labels every /metrics series with its --instance, the worker threads\' own series included', async () => {
    const g = await startGateway(redis.url, ['--workers', '2', '--instance', 'eu-west-7']);
    gateways.push(g);
    const clients = await Promise.all(Array.from({ length: 4 }, () => TestClient.connect(g.url)));
    try {
      await waitUntil('every connection counted', async () => (await metricValue(g.http, 'tickgate_connections_opened_total')) === 4);
      const samples = (await (await fetch(`${g.http}/metrics`)).text()).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
      expect(samples.length).to.be.greaterThan(50);
      expect(samples.filter((l) => !/[{,]instance="eu-west-7"[,}]/.test(l)), 'series without the instance label').to.deep.equal([]);
      // Counted by the worker threads that accepted them, summed into one series of this instance.
      expect(samples).to.include('tickgate_connections_opened_total{instance="eu-west-7"} 4');
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('with --metrics-port serves /metrics there and not on the listen port', async () => {
    const metricsPort = await freePort();
    const g = await startGateway(redis.url, ['--metrics-port', String(metricsPort)]);
    gateways.push(g);
    const admin = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(admin.status).to.equal(200);
    expect(await admin.text()).to.match(/^tickgate_connections_opened_total\{instance="test"\} 0$/m);
    expect((await fetch(`${g.http}/metrics`)).status).to.equal(404);
  });

  it('when graceful shutdown cannot finish (Redis frozen), exits 1 at --shutdown-timeout-ms and says so; its clients were drained (4007) before', async () => {
    const g = await startGateway(redis.url, ['--shutdown-timeout-ms', '800', '--drain-timeout-ms', '200', '--read-block-ms', '60000']);
    gateways.push(g);
    await waitUntil('ready', async () => (await readyStatus(g.http)) === 200);
    const client = await TestClient.connect(g.url);
    redis.child.kill('SIGSTOP'); // the blocking read can neither return nor fail
    try {
      const stderr: string[] = [];
      g.child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
      const started = Date.now();
      const code = await g.stop('SIGTERM');
      const took = Date.now() - started;
      expect(code).to.equal(1);
      expect(stderr.join('')).to.include('tickgate: SIGTERM: shutdown did not finish in 800 ms, exiting');
      // The deadline plus process start-up slack on a loaded 2-vCPU machine.
      expect(took).to.be.within(800, 800 + 1500);
      // The drain comes first and needs no Redis: the client was sent elsewhere before the reader could not stop.
      expect(await client.closed).to.deep.equal({ code: CLOSES.DRAINING.code, reason: CLOSES.DRAINING.reason() });
    } finally {
      redis.child.kill('SIGCONT');
    }
  });
});
