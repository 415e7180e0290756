import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, JWTPayload, KeyLike } from 'jose';
import { AuthError, compileSymbols, createAuthenticator, originAllowed, tokenFrom } from '../../src/server/auth';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long';
const now = () => Math.floor(Date.now() / 1000);

function hs256(claims: JWTPayload, secret = SECRET, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', ...header }).sign(new TextEncoder().encode(secret));
}

async function rejection(p: Promise<unknown>): Promise<AuthError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(AuthError);
    expect((err as AuthError).code).to.equal('UNAUTHORIZED');
    return err as AuthError;
  }
  throw new Error('expected an AuthError, the token was accepted');
}

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('server auth', () => {
  describe('createAuthenticator', () => {
    it('is off (undefined) when neither key is set', () => {
      expect(createAuthenticator({})).to.equal(undefined);
      expect(createAuthenticator({ hs256Secret: '', publicKeyPem: '' })).to.equal(undefined);
    });

    it('refuses a weak secret and keys that are neither RSA nor EC P-256', async () => {
      expect(() => createAuthenticator({ hs256Secret: 'short' })).to.throw(/at least 32 bytes/);
      expect(() => createAuthenticator({ publicKeyPem: 'not a pem' })).to.throw(/not a PEM public key/);
      const ed = await exportSPKI((await generateKeyPair('EdDSA', { extractable: true })).publicKey);
      expect(() => createAuthenticator({ publicKeyPem: ed })).to.throw(/ed25519; use an RSA key/);
      const p384 = await exportSPKI((await generateKeyPair('ES384', { extractable: true })).publicKey);
      expect(() => createAuthenticator({ publicKeyPem: p384 })).to.throw(/EC secp384r1/);
      const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
      expect(() => createAuthenticator({ publicKeyPem: rsa1024 })).to.throw(/1024 bits/);
    });
  });

  describe('HS256', () => {
    const auth = createAuthenticator({ hs256Secret: SECRET, issuer: 'https://issuer.example', audience: 'tickgate' })!;
    const good = { iss: 'https://issuer.example', aud: 'tickgate', sub: 'alice', symbols: ['BTC-USD'] };

    it('accepts a valid token and returns subject, expiry and entitlements', async () => {
      const exp = now() + 60;
      const e = await auth.verify(await hs256({ ...good, exp }));
      expect(e.subject).to.equal('alice');
      expect(e.expiresAt).to.equal(exp * 1000);
      expect(e.allows('BTC-USD')).to.equal(true);
      expect(e.allows('ETH-USD')).to.equal(false);
    });

    it('leaves expiresAt undefined without exp, and subject empty without sub', async () => {
      const e = await auth.verify(await hs256({ iss: good.iss, aud: good.aud, symbols: ['X'] }));
      expect(e.expiresAt).to.equal(undefined);
      expect(e.subject).to.equal('');
    });

    it('rejects a missing token', async () => {
      expect((await rejection(auth.verify(''))).message).to.equal('missing token');
    });

    it('rejects a token signed with another secret: bad signature', async () => {
      const token = await hs256(good, 'another-secret-that-is-at-least-32-bytes!!');
      expect((await rejection(auth.verify(token))).message).to.equal('bad signature');
    });

    it('rejects a token whose payload was altered: bad signature', async () => {
      const [h, , s] = (await hs256(good)).split('.');
      const forged = `${h}.${b64url({ ...good, symbols: ['*'] })}.${s}`;
      expect((await rejection(auth.verify(forged))).message).to.equal('bad signature');
    });

    it('rejects an expired token', async () => {
      expect((await rejection(auth.verify(await hs256({ ...good, exp: now() - 10 })))).message).to.equal('token expired');
    });

    it('honours the clock tolerance for exp and nbf', async () => {
      const lenient = createAuthenticator({ hs256Secret: SECRET, clockToleranceS: 30 })!;
      await lenient.verify(await hs256({ symbols: ['A'], exp: now() - 10 }));
      await lenient.verify(await hs256({ symbols: ['A'], nbf: now() + 10 }));
    });

    it('rejects a token not yet valid (nbf)', async () => {
      expect((await rejection(auth.verify(await hs256({ ...good, nbf: now() + 60 })))).message).to.equal('token not yet valid (nbf)');
    });

    it('rejects a wrong or missing issuer', async () => {
      expect((await rejection(auth.verify(await hs256({ ...good, iss: 'https://evil.example' })))).message).to.equal('wrong issuer');
      expect((await rejection(auth.verify(await hs256({ ...good, iss: undefined })))).message).to.equal('missing issuer');
    });

    it('rejects a wrong or missing audience', async () => {
      expect((await rejection(auth.verify(await hs256({ ...good, aud: 'other' })))).message).to.equal('wrong audience');
      expect((await rejection(auth.verify(await hs256({ ...good, aud: undefined })))).message).to.equal('missing audience');
    });

    it('rejects malformed claims: exp or nbf not a number, sub not a string', async () => {
      expect((await rejection(auth.verify(await hs256({ ...good, exp: 'soon' as unknown as number })))).message)
        .to.equal('malformed claims: "exp" claim must be a number');
      expect((await rejection(auth.verify(await hs256({ ...good, nbf: 'now' as unknown as number })))).message)
        .to.equal('malformed claims: "nbf" must be a number');
      expect((await rejection(auth.verify(await hs256({ ...good, sub: 42 as unknown as string })))).message)
        .to.equal('malformed claims: "sub" must be a string');
    });

    it('reads the realtime claim: absent is true, false restricts the token to the delayed tiers', async () => {
      expect((await auth.verify(await hs256(good))).realtime).to.equal(true);
      expect((await auth.verify(await hs256({ ...good, realtime: true }))).realtime).to.equal(true);
      expect((await auth.verify(await hs256({ ...good, realtime: false }))).realtime).to.equal(false);
    });

    it('rejects a realtime claim that is not a boolean', async () => {
      for (const realtime of ['false', 0, null, []]) {
        expect((await rejection(auth.verify(await hs256({ ...good, realtime })))).message, JSON.stringify(realtime))
          .to.equal('malformed claims: "realtime" must be true or false');
      }
    });

    it('rejects a token without a valid symbols claim', async () => {
      for (const symbols of [undefined, 'BTC-USD', [], {}, null]) {
        expect((await rejection(auth.verify(await hs256({ ...good, symbols }))))
          .message, JSON.stringify(symbols)).to.equal('token has no symbols claim');
      }
      for (const symbols of [[42], ['BTC USD'], ['x'.repeat(65)], ['(A|B)'], ['*A*B*C*D*E*F*G*H*I'], Array.from({ length: 257 }, (_, i) => `S${i}-*`)]) {
        expect((await rejection(auth.verify(await hs256({ ...good, symbols })))).message).to.match(/^malformed claims: /);
      }
    });

    it('rejects garbage and truncated tokens as malformed', async () => {
      for (const t of ['garbage', 'a.b.c', (await hs256(good)).split('.').slice(0, 2).join('.'), 'x'.repeat(20_000)]) {
        expect((await rejection(auth.verify(t))).message).to.match(/^(malformed token|token longer)/);
      }
    });

    it('rejects alg "none" (an unsecured JWT) and other algorithms', async () => {
      const unsecured = new UnsecuredJWT({ ...good }).encode();
      expect((await rejection(auth.verify(unsecured))).message).to.match(/^algorithm not accepted/);
      const hs512 = await new SignJWT(good).setProtectedHeader({ alg: 'HS512' }).sign(new TextEncoder().encode(SECRET));
      expect((await rejection(auth.verify(hs512))).message).to.match(/^algorithm not accepted/);
      // "none" spelled differently, with the original signature kept.
      const [, p, s] = (await hs256(good)).split('.');
      for (const alg of ['none', 'None', 'NONE']) {
        expect((await rejection(auth.verify(`${b64url({ alg })}.${p}.${s}`))).message).to.match(/^algorithm not accepted/);
        expect((await rejection(auth.verify(`${b64url({ alg })}.${p}.`))).message).to.match(/^(algorithm not accepted|malformed token)/);
      }
    });
  });

  for (const alg of ['RS256', 'ES256'] as const) {
    describe(alg, () => {
      let privateKey: KeyLike;
      let pem = '';
      let auth: ReturnType<typeof createAuthenticator>;
      const sign = (claims: JWTPayload, key = privateKey, a: string = alg) => new SignJWT(claims).setProtectedHeader({ alg: a }).sign(key);

      before(async () => {
        const pair = await generateKeyPair(alg, { extractable: true });
        privateKey = pair.privateKey;
        pem = await exportSPKI(pair.publicKey);
        auth = createAuthenticator({ publicKeyPem: pem, issuer: 'iss', clockToleranceS: 0 });
      });

      it('accepts a token signed with the private key', async () => {
        const e = await auth!.verify(await sign({ iss: 'iss', sub: 'bob', symbols: ['*-USD'], exp: now() + 60 }));
        expect(e.subject).to.equal('bob');
        expect(e.allows('ETH-USD')).to.equal(true);
        expect(e.allows('ETH-EUR')).to.equal(false);
      });

      it('rejects a token signed with another key pair: bad signature', async () => {
        const other = await generateKeyPair(alg);
        expect((await rejection(auth!.verify(await sign({ iss: 'iss', symbols: ['A'] }, other.privateKey))))).to.have.property('message', 'bad signature');
      });

      it('rejects an expired token and a wrong issuer', async () => {
        expect((await rejection(auth!.verify(await sign({ iss: 'iss', symbols: ['A'], exp: now() - 5 }))))).to.have.property('message', 'token expired');
        expect((await rejection(auth!.verify(await sign({ iss: 'x', symbols: ['A'] }))))).to.have.property('message', 'wrong issuer');
      });

      it('rejects alg confusion: an HS256 token whose secret is the public key PEM', async () => {
        const confused = await hs256({ iss: 'iss', symbols: ['*'] }, pem);
        expect((await rejection(auth!.verify(confused))).message).to.match(/^algorithm not accepted/);
        // Even when an HS256 secret is configured too, HS256 is checked against that secret, never the PEM.
        const both = createAuthenticator({ publicKeyPem: pem, hs256Secret: SECRET })!;
        expect((await rejection(both.verify(confused))).message).to.equal('bad signature');
        expect((await both.verify(await hs256({ symbols: ['A'] }))).allows('A')).to.equal(true);
        expect((await both.verify(await sign({ symbols: ['A'] }))).allows('A')).to.equal(true);
      });

      it('rejects the other asymmetric algorithm and alg "none"', async () => {
        const otherAlg = alg === 'RS256' ? 'ES256' : 'RS256';
        const pair = await generateKeyPair(otherAlg);
        expect((await rejection(auth!.verify(await sign({ symbols: ['A'] }, pair.privateKey, otherAlg)))).message).to.match(/^algorithm not accepted/);
        expect((await rejection(auth!.verify(new UnsecuredJWT({ symbols: ['A'] }).encode()))).message).to.match(/^algorithm not accepted/);
      });
    });
  }

  describe('symbol patterns', () => {
    const allows = (patterns: unknown, symbol: string) => compileSymbols(patterns)(symbol);

    it('matches exact symbols literally (a dot is not a wildcard)', () => {
      expect(allows(['ES.Z5'], 'ES.Z5')).to.equal(true);
      expect(allows(['ES.Z5'], 'ESXZ5')).to.equal(false);
      expect(allows(['EUR/USD'], 'EUR/USD')).to.equal(true);
      expect(allows(['BTC-USD'], 'BTC-USDT')).to.equal(false);
      expect(allows(['BTC-USD'], 'btc-usd')).to.equal(false);
    });

    it('matches globs: prefix, suffix, infix and everything', () => {
      expect(allows(['BTC-*'], 'BTC-USD')).to.equal(true);
      expect(allows(['BTC-*'], 'BTC-')).to.equal(true);
      expect(allows(['BTC-*'], 'ETH-BTC')).to.equal(false);
      expect(allows(['*-USD'], 'ETH-USD')).to.equal(true);
      expect(allows(['*-USD'], 'ETH-USDT')).to.equal(false);
      expect(allows(['ES.*.F'], 'ES.Z5.F')).to.equal(true);
      expect(allows(['ES.*.F'], 'ESXZ5.F')).to.equal(false);
      expect(allows(['*'], 'ANYTHING:AT/ALL')).to.equal(true);
      expect(allows(['**'], 'X')).to.equal(true);
      expect(allows(['A', 'B-*', '*-C'], 'B-1')).to.equal(true);
      expect(allows(['A', 'B-*', '*-C'], 'Z-C')).to.equal(true);
      expect(allows(['A', 'B-*', '*-C'], 'Z')).to.equal(false);
    });

    it('never matches characters outside the symbol alphabet', () => {
      expect(allows(['*'], 'BTC USD')).to.equal(true); // "*" alone is "every symbol": the session validates symbols first
      expect(allows(['A*'], 'A B')).to.equal(false);
      expect(allows(['A*'], 'A\nB')).to.equal(false);
      expect(allows(['A*'], 'A\u00e9')).to.equal(false);
    });

    it('has no backtracking blow-up on the worst globs it accepts', () => {
      const match = compileSymbols(Array.from({ length: 256 }, (_, i) => (i % 2 ? '*A*A*A*A*A*A*A*B' : 'A*A*A*A*A*A*A*A*C')));
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 10; i++) expect(match('A'.repeat(32))).to.equal(false);
      // Not a speed target: a backtracking RegExp needs minutes per symbol here, the compiled matcher about a
      // millisecond on a loaded VM, so a bound 50x the loaded figure only catches the blow-up, never load.
      expect(Number(process.hrtime.bigint() - t0) / 1e6).to.be.lessThan(500);
    });

    it('agrees with a reference glob matcher on random patterns and symbols (seeded)', () => {
      let seed = 12345;
      const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
      const alphabet = 'AB-.*';
      const reference = (p: string, sym: string) =>
        new RegExp('^' + p.split('*').map((x) => x.replace(/[.-]/g, '\\$&')).join('[A-Za-z0-9._:/-]*') + '$').test(sym);
      for (let i = 0; i < 5000; i++) {
        let p = '';
        for (let k = 1 + rnd(8); k > 0; k--) p += alphabet[rnd(alphabet.length)];
        if (/^\*+$/.test(p)) continue;
        if ((p.replace(/\*+/g, '*').match(/\*/g) ?? []).length > 8) continue;
        let sym = 'AB'[rnd(2)];
        for (let k = rnd(10); k > 0; k--) sym += 'AB-.'[rnd(4)];
        expect(compileSymbols([p])(sym), `${p} ~ ${sym}`).to.equal(reference(p, sym));
      }
    });
  });

  describe('tokenFrom', () => {
    it('takes the Bearer token (scheme case-insensitive), else ?token=', () => {
      expect(tokenFrom('Bearer abc.def.ghi', undefined)).to.equal('abc.def.ghi');
      expect(tokenFrom('bearer abc', undefined)).to.equal('abc');
      expect(tokenFrom('BEARER   abc  ', undefined)).to.equal('abc');
      expect(tokenFrom('Bearer header', 'query')).to.equal('header');
      expect(tokenFrom('', 'query')).to.equal('query');
      expect(tokenFrom('Basic dXNlcjpwYXNz', 'query')).to.equal('query');
      expect(tokenFrom('Basic dXNlcjpwYXNz', undefined)).to.equal(undefined);
      expect(tokenFrom('Bearer', undefined)).to.equal(undefined);
      expect(tokenFrom('Bearer ', '')).to.equal(undefined);
      expect(tokenFrom('Bearer a b', undefined)).to.equal(undefined);
      expect(tokenFrom('', undefined)).to.equal(undefined);
      expect(tokenFrom('', '')).to.equal(undefined);
    });
  });

  describe('originAllowed', () => {
    const list = ['https://app.example.com', 'http://localhost:3000'];

    it('allows any origin when the list is empty', () => {
      expect(originAllowed('https://evil.example', [])).to.equal(true);
    });

    it('matches scheme://host[:port] exactly', () => {
      expect(originAllowed('https://app.example.com', list)).to.equal(true);
      expect(originAllowed('https://APP.example.com', list)).to.equal(true);
      expect(originAllowed('https://app.example.com:443', list)).to.equal(true);
      expect(originAllowed('http://localhost:3000', list)).to.equal(true);
      expect(originAllowed('http://app.example.com', list)).to.equal(false);
      expect(originAllowed('https://app.example.com:8443', list)).to.equal(false);
      expect(originAllowed('https://evil.app.example.com', list)).to.equal(false);
      expect(originAllowed('https://app.example.com.evil.example', list)).to.equal(false);
      expect(originAllowed('http://localhost:3001', list)).to.equal(false);
      expect(originAllowed('http://localhost', list)).to.equal(false);
      expect(originAllowed('https://app.example.com/path', list)).to.equal(false);
      expect(originAllowed('https://user@app.example.com', list)).to.equal(false);
      expect(originAllowed('garbage', list)).to.equal(false);
    });

    it('allows a request without Origin (not a browser), and "null" only when listed', () => {
      expect(originAllowed('', list)).to.equal(true);
      expect(originAllowed('null', list)).to.equal(false);
      expect(originAllowed('null', [...list, 'null'])).to.equal(true);
    });
  });
});

