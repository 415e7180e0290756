import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { PrivateRedis } from '../../src/demo/private-redis';
import { GatewayProcess, repoRoot } from '../helpers/gateway';
import { PlainRedis } from '../helpers/redis';
import { startStack, stopStack } from '../helpers/stack';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends `requests` pipelined on one raw connection and parses the answers by content-length. A HEAD answer that
 * carried a body would be read as the start of the next answer, so the next status line would not parse.
 */
function pipelined(port: number, requests: { method: string; path: string; origin?: string }[]): Promise<RawResponse[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const out: RawResponse[] = [];
    sock.on('error', reject);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
        const m = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
        if (!m) return reject(new Error(`not a status line: ${JSON.stringify(statusLine.slice(0, 80))}`));
        const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        const length = requests[out.length].method === 'HEAD' ? 0 : Number(headers['content-length']);
        if (buf.length < end + 4 + length) return;
        out.push({ status: Number(m[1]), headers, body: buf.subarray(end + 4, end + 4 + length).toString() });
        buf = buf.subarray(end + 4 + length);
        if (out.length === requests.length) {
          sock.destroy();
          return resolve(out);
        }
      }
    });
    const origin = (r: { origin?: string }) => (r.origin === undefined ? '' : `Origin: ${r.origin}\r\n`);
    sock.write(requests.map((r) => `${r.method} ${r.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${origin(r)}\r\n`).join(''));
  });
}

describe('HTTP routes', function () {
  this.timeout(30_000);
  let redis: PrivateRedis;
  let producer: PlainRedis;
  let gw: GatewayProcess;

  before(async function () {
    if (!existsSync(join(repoRoot(), 'dist', 'web', 'index.html'))) throw new Error('dist/web is not built: run make build');
    ({ redis, producer, gw } = await startStack());
  });

  after(() => stopStack({ redis, producer, gw }));

  const PAGE = ['/healthz', '/readyz', '/', '/index.html', '/app.js', '/style.css', '/favicon.svg', '/client/tickgate-client.mjs'];

  it('answers HEAD like GET on /healthz, /readyz, the page and the SDK bundle: same status, type and length, no body', async () => {
    const answers = await pipelined(gw.port, PAGE.flatMap((path) => [{ method: 'HEAD', path }, { method: 'GET', path }]));
    PAGE.forEach((path, i) => {
      const [head, get] = [answers[2 * i], answers[2 * i + 1]];
      expect(get.status, path).to.equal(200);
      expect(get.body.length, path).to.be.greaterThan(0);
      expect(head.status, path).to.equal(200);
      expect(head.headers['content-type'], path).to.equal(get.headers['content-type']);
      expect(head.headers['content-length'], path).to.equal(String(Buffer.byteLength(get.body)));
      expect(head.body, path).to.equal('');
    });
  });

  it('answers HEAD /metrics with 200 and the metrics content type, and no body', async () => {
    // One request per connection: the scrape is answered asynchronously, and uWS does not pipeline those.
    const [head] = await pipelined(gw.port, [{ method: 'HEAD', path: '/metrics' }]);
    const [get] = await pipelined(gw.port, [{ method: 'GET', path: '/metrics' }]);
    expect(head.status).to.equal(200);
    expect(head.headers['content-type']).to.equal(get.headers['content-type']);
    expect(Number(head.headers['content-length'])).to.be.greaterThan(0);
    expect(get.body).to.contain('tickgate_connections_opened_total');
  });

  it('serves the page and the SDK bundle to any origin (`*`) while --allowed-origins is unset', async () => {
    const answers = await pipelined(gw.port, ['/client/tickgate-client.mjs', '/', '/app.js']
      .flatMap((path) => [{ method: 'GET', path, origin: 'https://elsewhere.example' }, { method: 'HEAD', path }]));
    for (const a of answers) {
      expect(a.headers['access-control-allow-origin']).to.equal('*');
      expect(a.headers).to.not.have.property('vary');
    }
  });

  it('serves no source map, CommonJS SDK module or build script: 404 NOT_FOUND for GET and HEAD', async () => {
    const hidden = ['/app.js.map', '/client/tickgate-client.mjs.map', '/client/build-browser.js', '/client/client.js',
      '/client/browser.js', '/client/client.js.map', '/build/build-web.js', '/page/app.js'];
    const answers = await pipelined(gw.port, hidden.flatMap((path) => [{ method: 'GET', path }, { method: 'HEAD', path }]));
    hidden.forEach((path, i) => {
      expect(answers[2 * i].status, path).to.equal(404);
      expect(JSON.parse(answers[2 * i].body), path).to.deep.equal({ error: 'NOT_FOUND' });
      expect(answers[2 * i + 1].status, path).to.equal(404);
      expect(answers[2 * i + 1].body, path).to.equal('');
    });
  });
});

describe('HTTP routes with --allowed-origins: CORS of the page and the SDK bundle', function () {
  this.timeout(30_000);
  let redis: PrivateRedis;
  let producer: PlainRedis;
  let gw: GatewayProcess;

  before(async () => {
    ({ redis, producer, gw } = await startStack(['--allowed-origins', 'https://app.example.com,http://localhost:3000']));
  });

  after(() => stopStack({ redis, producer, gw }));

  it('echoes an allowed Origin with Vary: Origin, for GET and HEAD', async () => {
    const requests = ['/client/tickgate-client.mjs', '/index.html'].flatMap((path) => ['GET', 'HEAD']
      .flatMap((method) => [{ method, path, origin: 'https://app.example.com' }, { method, path, origin: 'http://localhost:3000' }]));
    const answers = await pipelined(gw.port, requests);
    answers.forEach((a, i) => {
      expect(a.status, requests[i].path).to.equal(200);
      expect(a.headers['access-control-allow-origin'], `${requests[i].method} ${requests[i].path}`).to.equal(requests[i].origin);
      expect(a.headers.vary).to.equal('Origin');
    });
  });

  it('gives another origin, or a request without Origin, the file with Vary: Origin and no Access-Control-Allow-Origin', async () => {
    const answers = await pipelined(gw.port, [{ method: 'GET', path: '/client/tickgate-client.mjs', origin: 'https://evil.example' },
      { method: 'GET', path: '/client/tickgate-client.mjs' }, { method: 'HEAD', path: '/app.js', origin: 'https://evil.example' }]);
    for (const a of answers) {
      expect(a.status).to.equal(200);
      expect(a.headers).to.not.have.property('access-control-allow-origin');
      expect(a.headers.vary).to.equal('Origin');
    }
  });
});
