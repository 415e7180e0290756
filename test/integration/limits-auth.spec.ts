/**
 * Authentication, entitlements and connection limits against real gateway processes: every rule asserted by its
 * exact HTTP status and body, error code or close code.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSPKI, generateKeyPair, JWTPayload, KeyLike, SignJWT, UnsecuredJWT } from 'jose';
import WebSocket from 'ws';
import { PrivateRedis } from '../../src/demo/private-redis';
import { GatewayProcess, readyStatus, startGateway, waitUntil } from '../helpers/gateway';
import { killAll } from '../helpers/processes';
import { plainClient, PlainRedis, privateRedis, tickFields } from '../helpers/redis';
import { bearer, connectWith, refusalOf, upgrade } from '../helpers/upgrade';
import { TestClient } from '../helpers/ws-client';

const SECRET = 'limits-auth-spec-hs256-secret-of-at-least-32-bytes';
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'tickgate';
const ORIGINS = ['https://app.example.com', 'http://localhost:3000'];
const nowS = () => Math.floor(Date.now() / 1000);

function hs256(claims: JWTPayload, secret = SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
}

/** A token the HS256 gateway accepts, with `claims` on top. */
const good = (claims: JWTPayload = {}) => hs256({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', symbols: ['*'], exp: nowS() + 600, ...claims });

describe('limits and auth', function () {
  this.timeout(90_000);
  let redis: PrivateRedis;
  let producer: PlainRedis;
  let dir: string;
  let esKey: { privateKey: KeyLike; pem: string };
  let hs: GatewayProcess;
  let es: GatewayProcess;
  let perIp: GatewayProcess;
  let lifetime: GatewayProcess;
  let idle: GatewayProcess;
  const clients: TestClient[] = [];

  const track = (c: TestClient) => (clients.push(c), c);
  const auth = async (gw: GatewayProcess, claims: JWTPayload = {}, headers: Record<string, string> = {}) =>
    track(await connectWith(gw.url, { headers: { ...bearer(await good(claims)), ...headers } }));

  before(async () => {
    redis = await privateRedis();
    producer = await plainClient(redis.url);
    dir = mkdtempSync(join(tmpdir(), 'tickgate-auth-'));
    const pair = await generateKeyPair('ES256', { extractable: true });
    esKey = { privateKey: pair.privateKey, pem: await exportSPKI(pair.publicKey) };
    writeFileSync(join(dir, 'es256.pem'), esKey.pem);
    [hs, es, perIp, lifetime, idle] = await Promise.all([
      startGateway(redis.url, ['--instance', 'hs', '--auth-hs256-secret', SECRET, '--auth-issuer', ISSUER, '--auth-audience', AUDIENCE,
        '--allowed-origins', ORIGINS.join(','), '--max-symbols', '5', '--max-payload', '1024', '--rate-limit', '5', '--rate-burst', '5',
        '--flood-close-after', '20']),
      startGateway(redis.url, ['--instance', 'es', '--auth-public-key-file', join(dir, 'es256.pem')]),
      // Two workers: the per-IP count must be one count for the process, not one per worker.
      startGateway(redis.url, ['--instance', 'perip', '--workers', '2', '--max-connections-per-ip', '4']),
      startGateway(redis.url, ['--instance', 'lifetime', '--max-lifetime-s', '2']),
      startGateway(redis.url, ['--instance', 'idle', '--idle-timeout-s', '8']),
    ]);
    for (const gw of [hs, es, perIp, lifetime, idle]) await waitUntil('ready', async () => (await readyStatus(gw.http)) === 200);
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  after(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all([hs, es, perIp, lifetime, idle].map((gw) => gw?.stop()));
    await producer?.quit();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    killAll();
  });

  describe('authentication at upgrade (HS256)', () => {
    it('refuses an upgrade without a token with 401 UNAUTHORIZED "missing token"', async () => {
      const r = await refusalOf(hs.url);
      expect(r.status).to.equal(401);
      expect(r.body).to.include({ error: 'UNAUTHORIZED' });
      expect(r.body.message).to.contain('missing token');
    });

    it('accepts a valid token in Authorization: Bearer, and delivers the ticks of an entitled symbol', async () => {
      const c = await auth(hs, { symbols: ['BTC-*'] });
      expect(await c.request({ op: 'subscribe', symbols: ['BTC-USD'] })).to.include({ type: 'ack' });
      const id = await producer.xAdd('ticks', '*', tickFields('BTC-USD', 1));
      await waitUntil('tick delivered', () => c.idsOf('BTC-USD').includes(id));
    });

    it('accepts the Bearer scheme case-insensitively', async () => {
      track(await connectWith(hs.url, { headers: { authorization: `bearer ${await good()}` } }));
    });

    it('accepts a valid token in ?token=, and never writes the token to its logs', async () => {
      const token = await good({ sub: 'query-user' });
      const c = track(await connectWith(`${hs.url}?token=${token}`));
      expect(await c.request({ op: 'ping' })).to.include({ type: 'ack' });
      expect(hs.logs.join('\n')).not.to.contain(token.split('.')[2]);
    });

    it('takes the Authorization header over ?token=', async () => {
      track(await connectWith(`${hs.url}?token=garbage`, { headers: bearer(await good()) }));
      const r = await refusalOf(`${hs.url}?token=${await good()}`, { headers: bearer('garbage') });
      expect(r.status).to.equal(401);
    });

    it('ignores an Authorization header of another scheme: 401 "missing token"', async () => {
      const r = await refusalOf(hs.url, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
      expect(r.status).to.equal(401);
      expect(r.body).to.include({ error: 'UNAUTHORIZED' });
      expect(r.body.message).to.contain('missing token');
    });

    const invalid: [string, () => Promise<string>, string][] = [
      ['a token signed with another secret', () => hs256({ iss: ISSUER, aud: AUDIENCE, symbols: ['*'] }, 'another-secret-that-is-at-least-32-bytes-long'), 'bad signature'],
      ['an expired token', () => good({ exp: nowS() - 60 }), 'token expired'],
      ['a token not yet valid', () => good({ nbf: nowS() + 600 }), 'token not yet valid'],
      ['a token of another issuer', () => good({ iss: 'https://evil.test' }), 'wrong issuer'],
      ['a token for another audience', () => good({ aud: 'someone-else' }), 'wrong audience'],
      ['a token without symbols', () => good({ symbols: undefined }), 'token has no symbols claim'],
      ['a token whose symbols is not an array', () => good({ symbols: 'BTC-USD' }), 'token has no symbols claim'],
      ['an unsecured token (alg none)', async () => new UnsecuredJWT({ iss: ISSUER, aud: AUDIENCE, symbols: ['*'] }).encode(), 'algorithm not accepted'],
      ['garbage', async () => 'not.a.jwt', 'malformed token'],
    ];
    for (const [what, token, reason] of invalid) {
      it(`refuses ${what} with 401 UNAUTHORIZED naming the reason (${reason})`, async () => {
        const r = await refusalOf(hs.url, { headers: bearer(await token()) });
        expect(r.status, r.raw).to.equal(401);
        expect(r.body, r.raw).to.include({ error: 'UNAUTHORIZED' });
        expect(r.body.message, r.raw).to.contain(reason);
      });
    }

    it('refuses an invalid token in ?token= with 401 as well', async () => {
      const r = await refusalOf(`${hs.url}?token=${await good({ exp: nowS() - 60 })}`);
      expect(r.status).to.equal(401);
      expect(r.body).to.include({ error: 'UNAUTHORIZED' });
      expect(r.body.message).to.contain('token expired');
    });
  });

  describe('origin', () => {
    it('refuses an Origin not in --allowed-origins with 403 FORBIDDEN, even with a valid token', async () => {
      for (const origin of ['https://evil.example', 'http://app.example.com', 'https://app.example.com:8443', 'null']) {
        const r = await refusalOf(hs.url, { headers: { ...bearer(await good()), origin } });
        expect(r.status, origin).to.equal(403);
        expect(r.body, origin).to.include({ error: 'FORBIDDEN' });
      }
    });

    it('checks the Origin before the token: a foreign origin gets 403 whether the token is missing or invalid', async () => {
      for (const headers of [{}, { authorization: 'Bearer not-a-jwt' }] as Record<string, string>[]) {
        const r = await refusalOf(hs.url, { headers: { ...headers, origin: 'https://evil.example' } });
        expect(r.status, JSON.stringify(headers)).to.equal(403);
        expect(r.body).to.deep.equal({ error: 'FORBIDDEN', message: 'origin "https://evil.example" is not allowed' });
      }
    });

    it('accepts a listed Origin (scheme and host case-insensitive) and a request without Origin', async () => {
      await auth(hs, {}, { origin: 'https://app.example.com' });
      await auth(hs, {}, { origin: 'HTTPS://App.Example.com' });
      await auth(hs, {}, { origin: 'http://localhost:3000' });
      await auth(hs);
    });
  });

  describe('entitlements', () => {
    it('refuses a subscribe naming a symbol the token does not allow with FORBIDDEN, as a whole, and keeps the connection', async () => {
      const c = await auth(hs, { symbols: ['BTC-*', 'EUR/USD'] });
      const r = await c.request({ op: 'subscribe', symbols: ['BTC-USD', 'ETH-USD'] });
      expect(r).to.include({ type: 'error', code: 'FORBIDDEN' });
      expect(r.message).to.contain('ETH-USD');
      expect(r.message).not.to.contain('BTC-USD');
      expect((await c.request({ op: 'subscriptions' })).symbols).to.deep.equal([]);
      expect(c.ws.readyState).to.equal(WebSocket.OPEN);
      expect(await c.request({ op: 'subscribe', symbols: ['BTC-USD', 'BTC-EUR', 'EUR/USD'] })).to.include({ type: 'ack' });
      expect(await c.request({ op: 'subscribe', symbols: ['EUR/USDT'] })).to.include({ code: 'FORBIDDEN' });
      const id = await producer.xAdd('ticks', '*', tickFields('BTC-EUR', 2));
      await waitUntil('entitled tick delivered', () => c.idsOf('BTC-EUR').includes(id));
    });

    it('closes a connection whose token expires with 4005, at the expiry and not before', async () => {
      const exp = nowS() + 3;
      const c = await auth(hs, { exp, symbols: ['BTC-USD'] });
      expect(await c.request({ op: 'subscribe', symbols: ['BTC-USD'] })).to.include({ type: 'ack' });
      const { code } = await c.closed;
      const at = Date.now();
      expect(code).to.equal(4005);
      expect(at).to.be.at.least(exp * 1000 - 50);
      // Checked by the sweep (every 250 ms at most, README "Limits"), plus 1 s of margin for a loaded machine.
      expect(at).to.be.at.most(exp * 1000 + 250 + 1000);
    });
  });

  describe('authentication with a public key (ES256, --auth-public-key-file)', () => {
    const es256 = (claims: JWTPayload, key = esKey.privateKey) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).sign(key);

    it('accepts a token signed with the matching private key, in the header and in ?token=', async () => {
      const token = await es256({ sub: 'carol', symbols: ['ETH-USD'], exp: nowS() + 600 });
      const c = track(await connectWith(es.url, { headers: bearer(token) }));
      expect(await c.request({ op: 'subscribe', symbols: ['ETH-USD'] })).to.include({ type: 'ack' });
      expect(await c.request({ op: 'subscribe', symbols: ['BTC-USD'] })).to.include({ code: 'FORBIDDEN' });
      track(await connectWith(`${es.url}?token=${token}`));
    });

    it('refuses a token of another key pair (bad signature), alg confusion (HS256 keyed with the PEM), RS256, and none', async () => {
      const other = await generateKeyPair('ES256');
      const rsa = await generateKeyPair('RS256');
      const cases: [string, string][] = [
        [await es256({ symbols: ['*'] }, other.privateKey), 'bad signature'],
        [await hs256({ symbols: ['*'] }, esKey.pem), 'algorithm not accepted'],
        [await new SignJWT({ symbols: ['*'] }).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey), 'algorithm not accepted'],
        [new UnsecuredJWT({ symbols: ['*'] }).encode(), 'algorithm not accepted'],
      ];
      for (const [token, reason] of cases) {
        const r = await refusalOf(es.url, { headers: bearer(token) });
        expect(r.status, reason).to.equal(401);
        expect(r.body, reason).to.include({ error: 'UNAUTHORIZED' });
        expect(r.body.message, r.raw).to.contain(reason);
      }
    });
  });

  describe('limits', () => {
    it('--max-symbols: refuses more symbols than allowed with TOO_MANY_SYMBOLS', async () => {
      const c = await auth(hs);
      expect(await c.request({ op: 'subscribe', symbols: ['A', 'B', 'C', 'D', 'E', 'F'] })).to.include({ code: 'TOO_MANY_SYMBOLS' });
      expect(await c.request({ op: 'subscribe', symbols: ['A', 'B', 'C'] })).to.include({ type: 'ack' });
      expect(await c.request({ op: 'subscribe', symbols: ['D', 'E', 'F'] })).to.include({ code: 'TOO_MANY_SYMBOLS' });
    });

    it('--max-payload: closes a connection that sends a larger frame with 1009', async () => {
      const c = await auth(hs);
      c.send('x'.repeat(1025));
      expect((await c.closed).code).to.equal(1009);
    });

    it('--rate-limit/--rate-burst: answers requests beyond the burst with RATE_LIMITED, then refills', async () => {
      const c = await auth(hs);
      for (let i = 0; i < 8; i++) c.send({ op: 'ping', id: `p${i}` });
      await waitUntil('8 replies', () => c.replies.length === 8);
      const acks = c.replies.filter((r) => r.type === 'ack').length;
      expect(acks).to.be.within(5, 6);
      expect(c.replies.filter((r) => r.code === 'RATE_LIMITED').length).to.equal(8 - acks);
      await new Promise((r) => setTimeout(r, 1100));
      expect(await c.request({ op: 'ping' })).to.include({ type: 'ack' });
    });

    it('--flood-close-after: answers that many RATE_LIMITED within --flood-window-s, then closes with 4002', async () => {
      const c = await auth(hs);
      for (let i = 0; i < 100; i++) c.send({ op: 'ping', id: i });
      expect((await c.closed).code).to.equal(4002);
      expect(c.replies.filter((r) => r.code === 'RATE_LIMITED').length).to.equal(20);
    });

    it('--max-connections-per-ip: refuses connections over the limit with 429 TOO_MANY_CONNECTIONS, across workers', async () => {
      const held: TestClient[] = [];
      for (let i = 0; i < 4; i++) held.push(track(await connectWith(perIp.url)));
      for (let i = 0; i < 6; i++) {
        const r = await refusalOf(perIp.url);
        expect(r.status, r.raw).to.equal(429);
        expect(r.body, r.raw).to.include({ error: 'TOO_MANY_CONNECTIONS' });
      }
      // A closed connection frees its slot.
      held[0].close();
      await held[0].closed;
      let reopened: TestClient | undefined;
      await waitUntil('a slot freed', async () => {
        const r = await upgrade(perIp.url);
        reopened = r.client;
        return r.client !== undefined;
      });
      track(reopened!);
      expect((await refusalOf(perIp.url)).status).to.equal(429);
    });

    it('--max-lifetime-s: closes a connection older than that with 4004', async () => {
      const t0 = Date.now();
      const c = track(await TestClient.connect(lifetime.url));
      expect(await c.request({ op: 'subscribe', symbols: ['BTC-USD'] })).to.include({ type: 'ack' });
      const { code } = await c.closed;
      expect(code).to.equal(4004);
      // --max-lifetime-s 2, checked by the sweep every 250 ms at most (README "Limits"), plus 1 s of margin.
      expect(Date.now() - t0).to.be.within(2000, 2000 + 250 + 1000);
    });

    it('--idle-timeout-s: closes a silent client that does not answer pings; one that answers stays', async () => {
      const t0 = Date.now();
      const silent = track(await connectWith(idle.url, { autoPong: false }));
      const ponging = track(await connectWith(idle.url));
      const { code } = await silent.closed;
      const after = Date.now() - t0;
      // The gateway cuts the connection without a close frame: the client sees 1006, as the README's table says.
      expect(code).to.equal(1006);
      // uWS's timer granularity is 4 s: a client idle 8 s is closed between 4 s and 12 s after its last frame;
      // 2 s of margin for a loaded machine.
      expect(after).to.be.within(4000, 8000 + 4000 + 2000);
      // The client that answers the automatic pings outlives the timeout by far.
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + 20_000 - Date.now())));
      expect(ponging.ws.readyState).to.equal(WebSocket.OPEN);
      expect(await ponging.request({ op: 'ping' })).to.include({ type: 'ack' });
    });
  });
});
