import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { WebSocketServer } from 'ws';
import { AddressInfo } from 'net';
import { buildBrowserBundle } from '../../src/client/build-browser';
import { encodeFrame } from '../../src/wire/frame-encode';

/** The repository root, whether the spec runs from .build/test or from another outDir: where src/client lives. */
function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'src/client/browser.ts'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

// TypeScript's CommonJS output would turn import() into require(), which cannot load an ES module.
const importEsm = new Function('url', 'return import(url)') as (url: string) => Promise<Record<string, unknown>>;

describe('client SDK: browser bundle', function () {
  this.timeout(30_000);
  let outfile: string;
  let sdk: Record<string, unknown>;

  before(async () => {
    outfile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tickgate-bundle-')), 'tickgate-client.mjs');
    await buildBrowserBundle(repoRoot(), outfile);
    sdk = await importEsm(pathToFileURL(outfile).href);
  });

  after(() => fs.rmSync(path.dirname(outfile), { recursive: true, force: true }));

  it('is one ES module without Node-only imports', () => {
    const code = fs.readFileSync(outfile, 'utf8');
    expect(code).to.not.match(/\brequire\(|from ["'](ws|lz4-napi|node:)/);
    expect(Object.keys(sdk).sort()).to.deep.equal(['FrameDecodeError', 'TickgateClient', 'TickgateError', 'connect', 'decodeFrame']);
  });

  it('decodes LZ4 frames with its own decoder', () => {
    const ticks = Array.from({ length: 300 }, (_, i) => ({ id: `1-${i}`, ts: 1, px: '1.50', sz: '2' }));
    const frame = encodeFrame('bin+lz4', { sym: 'BTC-USD', ticks }, 7) as Uint8Array;
    expect(frame[1] & 1).to.equal(1);
    const decode = sdk.decodeFrame as (data: Uint8Array) => unknown;
    expect(decode(frame)).to.deep.equal({ sym: 'BTC-USD', sent: 7, kind: 'live', ticks });
  });

  it('connects with an injected WebSocket class', async () => {
    const wss = new WebSocketServer({ port: 0 });
    wss.on('connection', (ws) => ws.on('message', (d) => ws.send(JSON.stringify({ type: 'ack', id: JSON.parse(String(d)).id }))));
    const connect = sdk.connect as (url: string, o: object) => { subscribe(s: string[]): Promise<void>; close(): void };
    const { WebSocket } = await import('ws');
    const client = connect(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/stream`, { WebSocket });
    try {
      await client.subscribe(['BTC-USD']);
    } finally {
      client.close();
      await new Promise((resolve) => wss.close(resolve));
    }
  });
});
