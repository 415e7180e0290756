/**
 * WebSocket upgrades with headers (Authorization, Origin) that may be refused: resolves with either an open
 * TestClient or the HTTP status and JSON body of the refusal, never rejects on a refusal.
 */
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { TestClient } from './ws-client';

export interface Refusal {
  status: number;
  body: { error?: string; message?: string; [k: string]: unknown };
  raw: string;
}

export type UpgradeResult = { client: TestClient; refusal?: undefined } | { client?: undefined; refusal: Refusal };

export interface UpgradeOptions {
  headers?: Record<string, string>;
  /** false: do not answer the server's pings (an idle client, for the idle-timeout test). Default true. */
  autoPong?: boolean;
  /** The client's source address (any 127.0.0.x reaches a gateway on 127.0.0.1): a distinct client IP per test client. */
  localAddress?: string;
}

/** TestClient's constructor is private to keep `connect` the normal way in; this wraps an already open socket. */
const wrap = (ws: WebSocket) => new (TestClient as unknown as new (ws: WebSocket) => TestClient)(ws);

export function upgrade(url: string, opts: UpgradeOptions = {}): Promise<UpgradeResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: opts.headers ?? {}, autoPong: opts.autoPong ?? true, handshakeTimeout: 10_000,
      localAddress: opts.localAddress });
    ws.once('open', () => resolve({ client: wrap(ws) }));
    ws.once('unexpected-response', (req, res: IncomingMessage) => {
      let raw = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (raw += chunk));
      res.once('end', () => {
        req.destroy();
        let body: Refusal['body'] = {};
        try {
          body = JSON.parse(raw) as Refusal['body'];
        } catch {
          // Not JSON: the test's expectation on `body` fails and shows `raw`.
        }
        resolve({ refusal: { status: res.statusCode ?? 0, body, raw } });
      });
      res.once('error', reject);
    });
    ws.once('error', reject);
  });
}

/** Connects and expects success; fails with the refusal otherwise. */
export async function connectWith(url: string, opts: UpgradeOptions = {}): Promise<TestClient> {
  const r = await upgrade(url, opts);
  if (!r.client) throw new Error(`upgrade refused with ${r.refusal.status}: ${r.refusal.raw}`);
  return r.client;
}

/** Connects and expects a refusal; fails if the upgrade succeeded. */
export async function refusalOf(url: string, opts: UpgradeOptions = {}): Promise<Refusal> {
  const r = await upgrade(url, opts);
  if (r.client) {
    r.client.close();
    throw new Error(`expected the upgrade to be refused, it succeeded (${url})`);
  }
  return r.refusal;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
