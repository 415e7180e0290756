import { readFileSync } from 'node:fs';
import { ConfigError, GatewayConfig } from '../config';
import type { AuthOptions } from './auth';

/** The authenticator's options from the gateway config; the public key file is read here, once per thread. */
export function authOptions(cfg: GatewayConfig): AuthOptions {
  let publicKeyPem: string | undefined;
  if (cfg.authPublicKeyFile !== '') {
    try {
      publicKeyPem = readFileSync(cfg.authPublicKeyFile, 'utf8');
    } catch (err) {
      throw new ConfigError(`--auth-public-key-file: cannot read ${cfg.authPublicKeyFile}: ${(err as Error).message}`);
    }
  }
  return {
    hs256Secret: cfg.authHs256Secret || undefined,
    publicKeyPem,
    issuer: cfg.authIssuer || undefined,
    audience: cfg.authAudience || undefined,
  };
}
