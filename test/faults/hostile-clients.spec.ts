import { expect } from 'chai';
import { createConnection, Socket } from 'node:net';
import { readyStatus, metricValue, waitUntil } from '../helpers/gateway';
import { startStack, Stack, stopStack } from '../helpers/stack';
import { xaddTicks } from '../helpers/redis';
import { TestClient } from '../helpers/ws-client';

/** Sends `request` as raw bytes (no client-side path normalisation) and resolves with the whole response. */
function rawHttp(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: '127.0.0.1', port }, () => sock.write(request));
    let response = '';
    sock.on('data', (d) => (response += d.toString('latin1')));
    sock.on('end', () => resolve(response));
    sock.on('error', reject);
    sock.setTimeout(5000, () => (sock.destroy(), reject(new Error(`no response to ${JSON.stringify(request.split('\r\n')[0])}`))));
  });
}

describe('fault: hostile clients (regressions that held in the fault campaign)', function () {
  this.timeout(60_000);
  let stack: Stack;

  beforeEach(async () => {
    stack = await startStack();
  });

  afterEach(async () => {
    await stopStack(stack);
  });

  it('answers path traversal attempts with 404 and never a file outside the served folders', async () => {
    for (const path of ['/../package.json', '/..%2fpackage.json', '/%2e%2e/%2e%2e/etc/passwd', '/client/../../package.json',
      '/client/..%2f..%2fpackage.json', '//etc/passwd', '/client/%2e%2e/cli.js']) {
      const response = await rawHttp(stack.gw.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(response.split('\r\n')[0], path).to.equal('HTTP/1.1 404 Not Found');
      expect(response, path).not.to.match(/"name":\s*"tickgate"|root:x:0:0|require\(/);
    }
  });

  it('keeps serving WebSocket clients and /readyz while 300 connections trickle an HTTP request byte by byte', async () => {
    const client = await TestClient.connect(stack.gw.url);
    await client.request({ op: 'subscribe', symbols: ['S'] });
    const slow: Socket[] = [];
    for (let i = 0; i < 300; i++) {
      const sock = createConnection({ host: '127.0.0.1', port: stack.gw.port }, () => sock.write('GET /healthz HTTP/1.1\r\nX-Slow: '));
      sock.on('error', () => undefined); // the gateway may cut them: that is its right
      slow.push(sock);
    }
    const trickle = setInterval(() => {
      for (const s of slow) if (!s.destroyed) s.write('a');
    }, 500);
    try {
      for (let round = 0; round < 4; round++) {
        const ids = await xaddTicks(stack.producer, 'ticks', ['S'], 50, round * 50);
        await waitUntil('ticks delivered', () => client.idsOf('S').at(-1) === ids.at(-1), 2000);
        const started = Date.now();
        expect(await readyStatus(stack.gw.http)).to.equal(200);
        expect(Date.now() - started, '/readyz answered promptly').to.be.lessThan(500);
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(client.tickCount()).to.equal(200);
    } finally {
      clearInterval(trickle);
      for (const s of slow) s.destroy();
      client.close();
    }
  });

  it('after 5,000 connections opened, subscribed and closed, counts every one closed and its gauges return to zero', async () => {
    const symbols = ['C1', 'C2', 'C3'];
    for (let round = 0; round < 10; round++) {
      const clients = await Promise.all(Array.from({ length: 500 }, (_, i) =>
        TestClient.connect(`${stack.gw.url}?format=${i % 2 ? 'binary' : 'json'}`)));
      await Promise.all(clients.map((c) => c.request({ op: 'subscribe', symbols }, 10_000)));
      await Promise.all(clients.map((c) => (c.close(), c.closed)));
    }
    await waitUntil('every gauge back to zero', async () =>
      (await metricValue(stack.gw.http, 'tickgate_connections_open')) === 0 &&
      (await metricValue(stack.gw.http, 'tickgate_subscriptions')) === 0 &&
      (await metricValue(stack.gw.http, 'tickgate_active_topics')) === 0, 10_000, 250);
    expect(await metricValue(stack.gw.http, 'tickgate_connections_opened_total')).to.equal(5000);
    expect(await metricValue(stack.gw.http, 'tickgate_connections_closed_total')).to.equal(5000);
    // And the gateway still serves a new client exactly.
    const late = await TestClient.connect(stack.gw.url);
    await late.request({ op: 'subscribe', symbols: ['C1'] });
    const ids = await xaddTicks(stack.producer, 'ticks', ['C1'], 10);
    await waitUntil('late client served', () => late.tickCount() === 10);
    expect(late.idsOf('C1')).to.deep.equal(ids);
    late.close();
  });
});
