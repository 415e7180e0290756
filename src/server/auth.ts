/**
 * Authentication and entitlements for the upgrade: a JWT (HS256 with a shared secret, or RS256 / ES256 with a
 * public key) that carries the symbols a client may subscribe to. Pure: no uWS, no I/O after construction, so the
 * server decides what an AuthError becomes (HTTP 401 at upgrade, close 4005 at expiry).
 *
 * Claims:
 *   symbols  required: an array of patterns, each an exact symbol (`BTC-USD`) or a glob where `*` matches any run
 *            of symbol characters (`BTC-*`, `*-USD`, `*`). Compiled once per token.
 *   realtime optional boolean, default true: false allows only the delayed tiers (subscribe with "delayed":true).
 *   sub      optional string: the subject, for logs.
 *   exp, nbf optional numbers (seconds), checked with `clockToleranceS`.
 *   iss, aud checked when `issuer` / `audience` are configured.
 *
 * Exactly the algorithms of the configured keys are accepted: HS256 only when a secret is set, and RS256 or ES256
 * (whichever the public key is) only when a public key is set. `alg: none` and algorithm confusion (an HS256 token
 * "signed" with the public key's PEM as the secret) are refused before any signature check.
 */
import { createPublicKey, KeyObject } from 'node:crypto';
import { errors, jwtVerify, JWTVerifyOptions, ProtectedHeaderParameters } from 'jose';

export interface AuthOptions {
  hs256Secret?: string;
  /** RS256 (RSA) or ES256 (EC P-256) public key, SPKI PEM. */
  publicKeyPem?: string;
  issuer?: string;
  audience?: string;
  clockToleranceS?: number;
}

export interface Entitlements {
  subject: string;
  /** ms since epoch, or undefined when the token has no exp */
  expiresAt?: number;
  /** False: delayed tiers only; a real-time subscribe is refused FORBIDDEN. */
  realtime: boolean;
  allows(symbol: string): boolean;
}

export class AuthError extends Error {
  readonly code = 'UNAUTHORIZED';
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}

export interface Authenticator {
  verify(token: string): Promise<Entitlements>;
}

/** RFC 7518 §3.2: an HS256 key must have at least as many bits as the hash output. */
export const HS256_MIN_SECRET_BYTES = 32;
/** Tokens come from a header or a query string; anything longer is not a token we issued. */
export const MAX_TOKEN_LENGTH = 16 * 1024;
/** Bounds on the `symbols` claim, so a token cannot make matching expensive. */
export const MAX_SYMBOL_PATTERNS = 10_000;
export const MAX_PATTERN_LENGTH = 64;
/** Bounds on globs (see compileSymbols: matching costs O(symbol length × stars) per glob, without backtracking). */
export const MAX_STARS_PER_PATTERN = 8;
export const MAX_GLOB_PATTERNS = 256;

const SYMBOL_CHARS = 'A-Za-z0-9._:/-';
const PATTERN_SYNTAX = /^[A-Za-z0-9._:/*-]+$/;

type Alg = 'HS256' | 'RS256' | 'ES256';

/**
 * Returns undefined when neither key is configured (authentication off). Throws a plain Error (a configuration
 * mistake, reported at startup) for a too-short secret or a public key that is neither RSA nor EC P-256.
 */
export function createAuthenticator(o: AuthOptions): Authenticator | undefined {
  const keys = new Map<Alg, Uint8Array | KeyObject>();
  if (o.hs256Secret) {
    const secret = Buffer.from(o.hs256Secret, 'utf8');
    if (secret.length < HS256_MIN_SECRET_BYTES) {
      throw new Error(`the HS256 secret must be at least ${HS256_MIN_SECRET_BYTES} bytes (it has ${secret.length})`);
    }
    keys.set('HS256', new Uint8Array(secret));
  }
  if (o.publicKeyPem) {
    const { alg, key } = publicKey(o.publicKeyPem);
    keys.set(alg, key);
  }
  if (keys.size === 0) return undefined;
  const tolerance = o.clockToleranceS ?? 0;
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new Error(`clock tolerance must be a non-negative number of seconds`);

  const options: JWTVerifyOptions = { algorithms: [...keys.keys()], clockTolerance: tolerance };
  if (o.issuer) options.issuer = o.issuer;
  if (o.audience) options.audience = o.audience;
  // The key follows from the header's alg, and only algorithms with a configured key are allowed at all, so a
  // token can never get verified with a key of another kind.
  const keyFor = (header: ProtectedHeaderParameters) => {
    const key = keys.get(header.alg as Alg);
    if (!key) throw new AuthError(`algorithm ${JSON.stringify(header.alg)} is not accepted`);
    return key;
  };

  return {
    async verify(token: string): Promise<Entitlements> {
      if (!token) throw new AuthError('missing token');
      if (token.length > MAX_TOKEN_LENGTH) throw new AuthError(`token longer than ${MAX_TOKEN_LENGTH} characters`);
      let payload: Record<string, unknown>;
      try {
        payload = (await jwtVerify(token, keyFor, options)).payload as Record<string, unknown>;
      } catch (err) {
        throw asAuthError(err);
      }
      return entitlements(payload);
    },
  };
}

function publicKey(pem: string): { alg: Alg; key: KeyObject } {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new Error(`the public key is not a PEM public key: ${(err as Error).message}`, { cause: err });
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new Error(`the RSA public key has ${bits} bits; RS256 needs at least 2048`);
    return { alg: 'RS256', key };
  }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { alg: 'ES256', key };
  const kind = key.asymmetricKeyType === 'ec' ? `EC ${key.asymmetricKeyDetails?.namedCurve}` : key.asymmetricKeyType;
  throw new Error(`the public key is ${kind}; use an RSA key (RS256) or an EC P-256 key (ES256)`);
}

/** One precise message per way a token can be wrong. */
function asAuthError(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof errors.JWTExpired) return new AuthError('token expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    const reason = err.reason === 'missing' ? 'missing' : err.reason === 'invalid' ? 'malformed' : 'wrong';
    switch (err.claim) {
      case 'iss':
        return new AuthError(`${reason === 'wrong' ? 'wrong' : 'missing'} issuer`);
      case 'aud':
        return new AuthError(`${reason === 'wrong' ? 'wrong' : 'missing'} audience`);
      case 'nbf':
        return new AuthError(reason === 'wrong' ? 'token not yet valid (nbf)' : 'malformed claims: "nbf" must be a number');
      default:
        return new AuthError(`malformed claims: ${err.message}`);
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return new AuthError('bad signature');
  if (err instanceof errors.JOSEAlgNotAllowed) return new AuthError('algorithm not accepted (only the configured HS256/RS256/ES256 keys are)');
  if (err instanceof errors.JWTInvalid) return new AuthError(`malformed claims: ${err.message}`);
  if (err instanceof errors.JOSEError) return new AuthError(`malformed token: ${err.message}`);
  // jose throws TypeError for keys of the wrong type; with keyFor that cannot happen, but never leak a 500.
  return new AuthError(`malformed token: ${err instanceof Error ? err.message : String(err)}`);
}

function entitlements(payload: Record<string, unknown>): Entitlements {
  const { sub, exp, realtime } = payload;
  if (sub !== undefined && typeof sub !== 'string') throw new AuthError('malformed claims: "sub" must be a string');
  if (realtime !== undefined && typeof realtime !== 'boolean') throw new AuthError('malformed claims: "realtime" must be true or false');
  const allows = compileSymbols(payload.symbols);
  return {
    subject: sub ?? '',
    // jose has checked that exp, when present, is a number in the future.
    expiresAt: typeof exp === 'number' ? exp * 1000 : undefined,
    realtime: realtime ?? true,
    allows,
  };
}

/**
 * The `symbols` claim as one predicate: exact symbols in a Set, globs in one anchored RegExp built once. Every
 * character but `*` is matched literally; `*` matches any run (possibly empty) of symbol characters.
 *
 * A naive glob RegExp (`^A.*B.*C$`) backtracks polynomially in its number of stars. Each glob is compiled instead
 * to the greedy wildcard algorithm: the prefix, then each middle segment at its leftmost occurrence, committed
 * with an atomic group emulated by a lookahead and a backreference (`(?=(S*?seg))\1`, never re-entered), then
 * the suffix at the end. Taking the leftmost occurrence of each middle segment is always right (it leaves the
 * most room for the rest), so the match is exact and costs O(length × stars).
 */
export function compileSymbols(claim: unknown): (symbol: string) => boolean {
  if (!Array.isArray(claim) || claim.length === 0) throw new AuthError('token has no symbols claim');
  if (claim.length > MAX_SYMBOL_PATTERNS) throw new AuthError(`malformed claims: more than ${MAX_SYMBOL_PATTERNS} symbol patterns`);
  const exact = new Set<string>();
  const globs: string[] = [];
  let group = 0;
  for (const p of claim) {
    if (typeof p !== 'string' || p.length > MAX_PATTERN_LENGTH || !PATTERN_SYNTAX.test(p)) {
      const shown = typeof p === 'string' ? JSON.stringify(p.slice(0, MAX_PATTERN_LENGTH)) : typeof p;
      throw new AuthError(`malformed claims: invalid symbol pattern ${shown}`);
    }
    if (!p.includes('*')) {
      exact.add(p);
      continue;
    }
    const segments = p.replace(/\*+/g, '*').split('*');
    if (segments.length === 2 && segments[0] === '' && segments[1] === '') return allowsEverySymbol;
    if (segments.length - 1 > MAX_STARS_PER_PATTERN) {
      throw new AuthError(`malformed claims: symbol pattern ${JSON.stringify(p)} has more than ${MAX_STARS_PER_PATTERN} "*"`);
    }
    if (globs.length === MAX_GLOB_PATTERNS) throw new AuthError(`malformed claims: more than ${MAX_GLOB_PATTERNS} symbol patterns with "*"`);
    const any = `[${SYMBOL_CHARS}]`;
    let re = escapeRegExp(segments[0]);
    for (const middle of segments.slice(1, -1)) {
      group++;
      re += `(?=(${any}*?${escapeRegExp(middle)}))\\${group}`;
    }
    globs.push(`${re}${any}*${escapeRegExp(segments[segments.length - 1])}`);
  }
  const re = globs.length > 0 ? new RegExp(`^(?:${globs.map((g) => `(?:${g})`).join('|')})$`) : undefined;
  return (symbol: string) => exact.has(symbol) || (re !== undefined && re.test(symbol));
}

const allowsEverySymbol = () => true;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * The token of an upgrade: `Authorization: Bearer <t>` (scheme case-insensitive) wins; else `?token=`. An
 * Authorization header of another scheme is ignored (it may be meant for a proxy).
 */
export function tokenFrom(authorizationHeader: string, queryToken: string | undefined): string | undefined {
  const m = /^\s*bearer[ \t]+(\S+)\s*$/i.exec(authorizationHeader ?? '');
  if (m) return m[1];
  const q = queryToken?.trim();
  return q ? q : undefined;
}

/**
 * Whether a browser's `Origin` may open a connection. An empty list allows any origin. Otherwise the origin must
 * equal an entry as scheme://host[:port] (scheme and host compared case-insensitively, default ports implied).
 * A request without an Origin header is not from a browser and is allowed: Origin protects browsers from
 * cross-site WebSocket hijacking, it is no credential (any other client can send whatever Origin it likes).
 * The opaque origin `null` (sandboxed frames, file://) matches only an explicit `null` entry.
 */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  if (origin === undefined || origin === '') return true;
  const o = normalizeOrigin(origin);
  if (o === undefined) return false;
  return allowed.some((a) => normalizeOrigin(a) === o);
}

function normalizeOrigin(s: string): string | undefined {
  const t = s.trim();
  if (t === '') return undefined;
  if (t.toLowerCase() === 'null') return 'null';
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    return undefined;
  }
  // An origin is scheme://host[:port] only: anything else (a path, credentials, a query) is not one.
  if (u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) return undefined;
  if (u.protocol === 'http:' || u.protocol === 'https:') return u.origin;
  // Non-special schemes (chrome-extension://…) have an opaque URL origin: compare the text, scheme lowercased.
  return t.replace(/^[^:]+/, (scheme) => scheme.toLowerCase()).replace(/\/$/, '');
}
