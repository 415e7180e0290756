/**
 * The gateway URLs a client connects to, checked once when it is created, so that a typo in the third URL of a list
 * fails at connect() rather than at the failover that would have needed it.
 */
import { TickgateError } from './errors';

/**
 * `urls` as a non-empty list: one URL (a gateway, or a load balancer in front of several) or a list of gateways,
 * each ws:// or wss://. Throws a TickgateError INVALID_URL naming the first entry that is not.
 */
export function gatewayUrls(urls: string | readonly string[]): string[] {
  const list: readonly unknown[] | undefined = typeof urls === 'string' ? [urls] : Array.isArray(urls) ? urls : undefined;
  if (list === undefined || list.length === 0) {
    throw new TickgateError('INVALID_URL', 'connect() needs a gateway URL or a non-empty array of them');
  }
  return list.map((entry, i) => {
    const where = list.length === 1 ? 'gateway URL' : `gateway URL #${i + 1}`;
    if (typeof entry !== 'string') throw new TickgateError('INVALID_URL', `${where} is a ${typeof entry}, not a string`);
    let protocol: string;
    try {
      protocol = new URL(entry).protocol;
    } catch {
      throw new TickgateError('INVALID_URL', `${where} ${JSON.stringify(entry)} is not an absolute URL`);
    }
    if (protocol !== 'ws:' && protocol !== 'wss:') {
      throw new TickgateError('INVALID_URL', `${where} ${JSON.stringify(entry)} is not ws:// or wss://`);
    }
    return entry;
  });
}
