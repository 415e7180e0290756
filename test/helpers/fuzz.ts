/**
 * Seeded generators of hostile client input for the fuzz test: WebSocket frames and raw bytes at the HTTP upgrade.
 * Everything derives from a PRNG, so a seed reproduces the inputs each actor sends (the interleaving of actors
 * still depends on timing).
 */
import { readFileSync } from 'node:fs';
export { seededRandom as mulberry32 } from '../../src/random';

export type Rng = () => number;


export const int = (r: Rng, n: number) => Math.floor(r() * n);
export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)];
export const bytes = (r: Rng, n: number) => Buffer.from(Array.from({ length: n }, () => int(r, 256)));

const SYMBOLS = ['HEALTHY', 'BTC-USD', 'ETH-USD', 'ES.Z5', 'EUR/USD', 'S1', 'S2', 'a', 'Z'.repeat(32)];
const OPS = ['subscribe', 'unsubscribe', 'ping', 'subscriptions', 'pause', 'resume', 'SUBSCRIBE', '', 'snapshot', 'constructor', '__proto__'];

function randomUnicode(r: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    switch (int(r, 6)) {
      case 0: s += String.fromCharCode(int(r, 0x80)); break; // ASCII incl. control characters and NUL
      case 1: s += String.fromCharCode(0xd800 + int(r, 0x800)); break; // a lone surrogate
      case 2: s += String.fromCodePoint(0x1f300 + int(r, 0x300)); break; // emoji (astral)
      case 3: s += pick(r, ['\u200b', '\u202e', '\ufeff', '\uffff', '\u0000', '\u2028', '\u00e9', '\u0301']); break;
      case 4: s += String.fromCodePoint(int(r, 0x110000 - 0x800)); break;
      default: s += pick(r, SYMBOLS);
    }
  }
  return s;
}

function randomJson(r: Rng, depth: number): unknown {
  switch (depth <= 0 ? int(r, 5) : int(r, 8)) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return pick(r, [0, -0, 1, -1, 1e308, -1e308, 2 ** 53, 2 ** 53 + 1, 0.1, 5e-324, r() * 1e6]);
    case 3: return randomUnicode(r, int(r, 12));
    case 4: return pick(r, SYMBOLS);
    case 5: return Array.from({ length: int(r, 6) }, () => randomJson(r, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let k = int(r, 6); k > 0; k--) o[pick(r, ['op', 'id', 'symbols', 'since', 'snapshot', 'x', randomUnicode(r, 3)])] = randomJson(r, depth - 1);
      if (r() < 0.5) o.op = pick(r, OPS);
      return o;
    }
  }
}

export function validRequest(r: Rng): Record<string, unknown> {
  const op = pick(r, ['subscribe', 'subscribe', 'unsubscribe', 'ping', 'subscriptions']);
  const req: Record<string, unknown> = { op };
  if (r() < 0.8) req.id = r() < 0.5 ? int(r, 1e6) : `id-${int(r, 1e6)}`;
  if (op === 'subscribe' || op === 'unsubscribe') req.symbols = Array.from({ length: 1 + int(r, 4) }, () => pick(r, SYMBOLS));
  return req;
}

/** Flips, replaces, inserts, deletes or duplicates a few bytes: often invalid JSON, sometimes invalid UTF-8. */
export function mutate(r: Rng, input: Buffer): Buffer {
  let b = Buffer.from(input);
  for (let n = 1 + int(r, 4); n > 0; n--) {
    const at = int(r, Math.max(1, b.length));
    switch (int(r, 6)) {
      case 0: if (b.length) b[at] ^= 1 << int(r, 8); break;
      case 1: if (b.length) b[at] = int(r, 256); break;
      case 2: b = Buffer.concat([b.subarray(0, at), bytes(r, 1 + int(r, 4)), b.subarray(at)]); break;
      case 3: b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(r, 4))]); break;
      case 4: b = b.subarray(0, at); break;
      default: b = Buffer.concat([b.subarray(0, at), b.subarray(int(r, b.length + 1)), b.subarray(at)]);
    }
  }
  return b;
}

export interface FuzzFrame {
  kind: string;
  data: Buffer | string;
  binary: boolean;
  /** Send as the first fragment of a message never finished by this frame. */
  fragment?: boolean;
  /** A ping or pong control frame instead of a message. */
  control?: 'ping' | 'pong';
}

/** One random frame. `maxPayload` is the gateway's limit: a few frames exceed it on purpose. */
export function randomFrame(r: Rng, maxPayload: number): FuzzFrame {
  const x = r();
  if (x < 0.2) return { kind: 'valid', data: JSON.stringify(validRequest(r)), binary: false };
  if (x < 0.45) return { kind: 'mutated', data: mutate(r, Buffer.from(JSON.stringify(validRequest(r)))), binary: false };
  if (x < 0.6) return { kind: 'random-json', data: JSON.stringify(randomJson(r, 4)) ?? 'null', binary: false };
  if (x < 0.65) {
    const depth = 50 + int(r, Math.floor(maxPayload / 2) - 100);
    const open = r() < 0.5 ? '[' : '{"op":';
    const close = open === '[' ? ']' : '}';
    const body = open.repeat(depth) + '1' + close.repeat(r() < 0.8 ? depth : int(r, depth));
    return { kind: 'deep', data: r() < 0.5 ? body : `{"op":"subscribe","id":1,"symbols":${'['.repeat(depth)}${']'.repeat(depth)}}`.slice(0, maxPayload), binary: false };
  }
  if (x < 0.7) {
    const n = pick(r, ['1e999', '-1e999', '1' + '0'.repeat(400), '123456789012345678901234567890', '-0', '0.0000000000000000000001e-400', 'NaN', 'Infinity', '0x10', '1_000']);
    const tpl = pick(r, ['{"op":"ping","id":N}', '{"op":"subscribe","id":N,"symbols":["HEALTHY"]}', '{"op":"subscribe","symbols":N}', 'N', '[N,N]', '{"op":"subscribe","symbols":["A"],"since":{"A":N}}']);
    return { kind: 'huge-number', data: tpl.replace(/N/g, n), binary: false };
  }
  if (x < 0.8) {
    const u = randomUnicode(r, 1 + int(r, 40));
    const data = pick(r, [u, JSON.stringify({ op: u, id: u }), JSON.stringify({ op: 'subscribe', id: 1, symbols: [u, 'HEALTHY'] }), JSON.stringify({ op: 'ping', id: u })]);
    return { kind: 'unicode', data: Buffer.from(data, 'utf8'), binary: false };
  }
  if (x < 0.88) return { kind: 'binary', data: r() < 0.3 ? Buffer.from(JSON.stringify(validRequest(r))) : bytes(r, int(r, 512)), binary: true };
  if (x < 0.9) return { kind: 'oversized', data: Buffer.alloc(maxPayload + 1 + int(r, maxPayload * 4), 0x20), binary: r() < 0.5 };
  if (x < 0.94) return { kind: 'control', data: bytes(r, int(r, 126)), binary: true, control: r() < 0.5 ? 'ping' : 'pong' };
  if (x < 0.96) return { kind: 'fragment', data: Buffer.from(JSON.stringify(validRequest(r))).subarray(0, 5), binary: r() < 0.5, fragment: true };
  if (x < 0.98) return { kind: 'empty', data: Buffer.alloc(0), binary: r() < 0.5 };
  return { kind: 'invalid-utf8', data: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80, 0x22, 0x7d]), binary: false };
}

/** A valid upgrade request for /v1/stream, the base the HTTP mutations start from. */
export function upgradeRequest(port: number, path: string, extraHeaders: string[] = []): string {
  return [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', ...extraHeaders, '', ''].join('\r\n');
}

export interface RawInput {
  kind: string;
  chunks: Buffer[];
  /** After the upgrade succeeds (101), these raw WebSocket bytes follow (protocol violations). */
  afterUpgrade?: Buffer;
  /** Close the socket right after writing, without reading (an abort mid-upgrade). */
  abort?: boolean;
}

/** Random bytes or malformed HTTP for a raw TCP connection to the gateway's port. */
export function randomRawInput(r: Rng, port: number, token: string): RawInput {
  const auth = `Authorization: Bearer ${token}`;
  const valid = upgradeRequest(port, '/v1/stream', [auth]);
  switch (int(r, 14)) {
    case 0: return { kind: 'random-bytes', chunks: [bytes(r, 1 + int(r, 4096))] };
    case 1: return { kind: 'mutated-upgrade', chunks: [mutate(r, Buffer.from(valid))] };
    case 2: return { kind: 'huge-header', chunks: [Buffer.from(upgradeRequest(port, '/v1/stream', [auth, `X-Big: ${'a'.repeat(8_000 + int(r, 120_000))}`]))] };
    case 3: return { kind: 'many-headers', chunks: [Buffer.from(upgradeRequest(port, '/v1/stream', [auth, ...Array.from({ length: 50 + int(r, 500) }, (_, i) => `X-H${i}: ${i}`)]))] };
    case 4: return { kind: 'long-url', chunks: [Buffer.from(upgradeRequest(port, `/v1/stream?format=json&pad=${'x'.repeat(1000 + int(r, 60_000))}`, [auth]))] };
    case 5: return { kind: 'bad-request-line', chunks: [Buffer.from(pick(r, ['GET\r\n\r\n', 'GET /v1/stream\r\n\r\n', 'GET /v1/stream HTTP/9.9\r\n\r\n', '\r\n\r\n\r\n', 'BREW /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n', `GET /v1/stream HTTP/1.1\nHost: x\nUpgrade: websocket\n\n`, 'GET /%00%ff/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n', `GET ${'/'.repeat(5000)} HTTP/1.1\r\n\r\n`]))] };
    case 6: return { kind: 'bad-upgrade-headers', chunks: [Buffer.from(upgradeRequest(port, '/v1/stream', [auth, pick(r, ['Sec-WebSocket-Version: 8', 'Sec-WebSocket-Key: !!!', 'Sec-WebSocket-Key: ', 'Sec-WebSocket-Key: AAAA', 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=999', 'Sec-WebSocket-Protocol: a, b, \u0000', 'Content-Length: 100000', 'Transfer-Encoding: chunked', 'Header-Without-Colon', ': empty-name', 'Bad\u0001Name: v', 'Origin: \u00ff\u00fe'])]))] };
    case 7: return { kind: 'bad-auth', chunks: [Buffer.from(upgradeRequest(port, '/v1/stream', [pick(r, ['Authorization: Bearer', 'Authorization: Bearer ' + 'x'.repeat(20_000), 'Authorization: Bearer a.b.c', `Authorization: Bearer ${token.slice(0, -3)}abc`, 'Authorization: Bearer ' + bytes(r, 60).toString('latin1').replace(/[\r\n]/g, ''), `Authorization: Bearer ${token}\r\nAuthorization: Bearer junk`])]))] };
    case 8: return { kind: 'query-token', chunks: [Buffer.from(upgradeRequest(port, `/v1/stream?token=${pick(r, [token, encodeURIComponent(token) + '%', '%ZZ', 'a'.repeat(10_000), token + '&token=junk'])}&format=${pick(r, ['json', 'binary', 'xml', '', '%00'])}`))] };
    case 9: return { kind: 'abort-mid-upgrade', chunks: [Buffer.from(valid)], abort: true };
    case 10: {
      // Byte by byte, then gone (slowloris-like).
      const cut = int(r, valid.length);
      return { kind: 'partial-request', chunks: [Buffer.from(valid.slice(0, cut))] };
    }
    case 11: return { kind: 'pipelined', chunks: [Buffer.from(valid + valid + 'GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n')] };
    case 12: {
      // A real upgrade, then frames that break the protocol: unmasked, reserved bits, absurd lengths, bad opcodes.
      const frames = [
        Buffer.from([0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f]), // unmasked text frame (clients must mask)
        Buffer.from([0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]), // masked, length 2^63-1
        Buffer.from([0xf1, 0x80, 1, 2, 3, 4]), // RSV1-3 set
        Buffer.from([0x83, 0x80, 1, 2, 3, 4]), // reserved opcode 3
        Buffer.from([0x89, 0xfe, 0x01, 0x00, 1, 2, 3, 4]), // ping with a 256-byte payload (control max 125)
        Buffer.from([0x08, 0x80, 1, 2, 3, 4]), // fragmented close
        Buffer.from([0x80, 0x80, 1, 2, 3, 4]), // continuation without a start
        bytes(r, 1 + int(r, 2048)),
      ];
      return { kind: 'bad-frames', chunks: [Buffer.from(valid)], afterUpgrade: Buffer.concat([pick(r, frames), pick(r, frames)]) };
    }
    default: return { kind: 'http-routes', chunks: [Buffer.from(pick(r, ['GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n', 'POST /v1/stream HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', 'GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', 'GET /../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n', 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n']))] };
  }
}

/** Resident set size of a process, in bytes (Linux: /proc/<pid>/status VmRSS). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
