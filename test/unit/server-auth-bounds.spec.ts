import { expect } from 'chai';
import { CompactSign, SignJWT } from 'jose';
import {
  AuthError, compileSymbols, createAuthenticator, MAX_PATTERN_LENGTH, MAX_SYMBOL_PATTERNS, MAX_TOKEN_LENGTH, originAllowed, tokenFrom,
} from '../../src/server/auth';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long';
const key = new TextEncoder().encode(SECRET);

async function message(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(AuthError);
    return (err as AuthError).message;
  }
  throw new Error('expected an AuthError, the token was accepted');
}

function thrown(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).to.be.instanceOf(AuthError);
    return (err as Error).message;
  }
  throw new Error('expected an AuthError');
}

describe('server auth: bounds and edges', () => {
  it('names its errors AuthError', () => {
    expect(new AuthError('x').name).to.equal('AuthError');
  });

  it('takes an HS256 secret of exactly 32 bytes and refuses 31', () => {
    expect(createAuthenticator({ hs256Secret: 's'.repeat(32) })).to.not.equal(undefined);
    expect(() => createAuthenticator({ hs256Secret: 's'.repeat(31) })).to.throw('the HS256 secret must be at least 32 bytes (it has 31)');
  });

  it('refuses a negative or non-finite clock tolerance and takes 0', () => {
    for (const t of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createAuthenticator({ hs256Secret: SECRET, clockToleranceS: t }), String(t))
        .to.throw('clock tolerance must be a non-negative number of seconds');
    }
    expect(createAuthenticator({ hs256Secret: SECRET, clockToleranceS: 0 })).to.not.equal(undefined);
  });

  it('checks iss and aud only when configured', async () => {
    const token = await new SignJWT({ iss: 'anyone', aud: 'anything', symbols: ['A'] }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    expect((await createAuthenticator({ hs256Secret: SECRET })!.verify(token)).allows('A')).to.equal(true);
    expect(await message(createAuthenticator({ hs256Secret: SECRET, issuer: 'me' })!.verify(token))).to.equal('wrong issuer');
    expect(await message(createAuthenticator({ hs256Secret: SECRET, audience: 'me' })!.verify(token))).to.equal('wrong audience');
  });

  it('refuses a token longer than 16 KiB by its length alone, and verifies one of exactly 16 KiB', async () => {
    const auth = createAuthenticator({ hs256Secret: SECRET })!;
    expect(await message(auth.verify('x'.repeat(MAX_TOKEN_LENGTH + 1)))).to.equal(`token longer than ${MAX_TOKEN_LENGTH} characters`);
    expect(await message(auth.verify('x'.repeat(MAX_TOKEN_LENGTH)))).to.match(/^malformed token: /);
  });

  it('calls a correctly signed token whose payload is not a JSON object malformed claims', async () => {
    const token = await new CompactSign(new TextEncoder().encode('[1,2]')).setProtectedHeader({ alg: 'HS256' }).sign(key);
    expect(await message(createAuthenticator({ hs256Secret: SECRET })!.verify(token))).to.match(/^malformed claims: /);
  });
});

describe('server auth: symbols claim bounds', () => {
  it('takes 10,000 patterns and refuses 10,001', () => {
    const patterns = Array.from({ length: MAX_SYMBOL_PATTERNS }, (_, i) => `S${i}`);
    expect(compileSymbols(patterns)('S9999')).to.equal(true);
    expect(thrown(() => compileSymbols([...patterns, 'X']))).to.equal('malformed claims: more than 10000 symbol patterns');
  });

  it('takes a pattern of 64 characters and refuses 65, showing its first 64', () => {
    const p64 = 'A'.repeat(MAX_PATTERN_LENGTH);
    expect(compileSymbols([p64])(p64)).to.equal(true);
    expect(thrown(() => compileSymbols([`${p64}B`]))).to.equal(`malformed claims: invalid symbol pattern "${p64}"`);
  });

  it('names the type of a pattern that is not a string', () => {
    expect(thrown(() => compileSymbols([7]))).to.equal('malformed claims: invalid symbol pattern number');
  });

  it('counts a run of stars as one', () => {
    expect(compileSymbols(['A*********B'])('AxyzB')).to.equal(true);
  });

  it('matches a glob with a star at the end only as a prefix, not everything', () => {
    expect(compileSymbols(['A*'])('B')).to.equal(false);
  });

  it('matches a glob that starts and ends with a star only where its middle occurs', () => {
    expect(['xAy', 'B'].map(compileSymbols(['*A*']))).to.deep.equal([true, false]);
  });

  it('takes a glob of 8 stars and refuses 9', () => {
    expect(compileSymbols(['A*B*C*D*E*F*G*H*I'])('ABCDEFGHI')).to.equal(true);
    expect(thrown(() => compileSymbols(['A*B*C*D*E*F*G*H*I*J']))).to.equal('malformed claims: symbol pattern "A*B*C*D*E*F*G*H*I*J" has more than 8 "*"');
  });

  it('takes 256 globs and refuses 257', () => {
    const globs = Array.from({ length: 256 }, (_, i) => `G${i}-*`);
    expect(compileSymbols(globs)('G255-X')).to.equal(true);
    expect(thrown(() => compileSymbols([...globs, 'H-*']))).to.equal('malformed claims: more than 256 symbol patterns with "*"');
  });

  it('matches middle segments in order, in every glob of a claim', () => {
    const allows = compileSymbols(['A*B*C', 'X*Y*Z']);
    expect(['AxBxC', 'XqYqZ', 'AxC', 'XqZ', 'AxCxB'].map(allows)).to.deep.equal([true, true, false, false, false]);
  });

  it('allows only the listed symbols when the claim has no glob, not the empty symbol', () => {
    expect(compileSymbols(['A'])('')).to.equal(false);
  });
});

describe('server auth: tokenFrom and originAllowed edges', () => {
  it('takes a Bearer header with leading whitespace, and only a header that starts with the scheme', () => {
    expect(tokenFrom('  Bearer abc', undefined)).to.equal('abc');
    expect(tokenFrom('XBearer abc', undefined)).to.equal(undefined);
  });

  it('trims a ?token= value', () => {
    expect(tokenFrom('', ' abc ')).to.equal('abc');
  });

  it('allows a request with an empty Origin when a list is set', () => {
    expect(originAllowed('', ['https://a.example'])).to.equal(true);
  });

  it('refuses an Origin that is not one, even when an entry of the list is not one either', () => {
    expect(originAllowed('garbage', ['https://a.example', 'also garbage'])).to.equal(false);
  });

  it('compares origins trimmed, "null" too', () => {
    expect(originAllowed(' https://a.example ', ['https://a.example'])).to.equal(true);
    expect(originAllowed(' null ', ['null'])).to.equal(true);
  });

  it('compares http origins as URL origins: host case and the default port do not matter', () => {
    expect(originAllowed('http://A.example:80', ['http://a.example'])).to.equal(true);
  });

  it('matches an http and an https origin, and no other', () => {
    expect(originAllowed('http://a.example', ['http://a.example'])).to.equal(true);
    expect(originAllowed('https://a.example', ['https://a.example'])).to.equal(true);
    expect(originAllowed('http://a.example', ['https://a.example'])).to.equal(false);
  });

  it('compares a non-special scheme\'s origin as text, scheme lowercased, without a trailing slash', () => {
    expect(originAllowed('Chrome-Extension://abcdef/', ['chrome-extension://abcdef'])).to.equal(true);
    expect(originAllowed('chrome-extension://abcdef', ['chrome-extension://ABCDEF'])).to.equal(false);
    expect(originAllowed('chrome-extension://abcdef/x', ['chrome-extension://abcdef'])).to.equal(false);
  });
});
