/**
 * Every close the gateway sends is one call here: the protocol's value for it (src/protocol/codes.ts CLOSES), and
 * the metric that counts why. tickgate_connections_closed_total counts every close, whoever sent it, in the
 * socket's close handler (closeLabel).
 */
import { CloseDetails, CloseName, closeName, CLOSES } from '../protocol/codes';
import { Metrics } from '../metrics/metrics';
import type { Socket } from './session-data';

/** Closes caused by the client (or its token), counted in tickgate_client_errors_total under their name. */
const CLIENT_ERRORS: ReadonlySet<CloseName> = new Set<CloseName>(['MESSAGE_TOO_BIG', 'FLOODING', 'TOKEN_EXPIRED', 'TOO_MANY_CONNECTIONS']);

export function endWith<N extends CloseName>(ws: Socket, metrics: Metrics, name: N, ...details: CloseDetails<N>): void {
  if (name === 'SLOW_CONSUMER') metrics.slowConsumerDisconnects.inc();
  else if (CLIENT_ERRORS.has(name)) metrics.clientErrors.inc({ code: name });
  const close = CLOSES[name];
  ws.end(close.code, (close.reason as (...d: CloseDetails<N>) => string)(...details));
}

/** The `reason` label of a close: its name in lower case; 1005/1006 are the peer going away without a close code. */
export function closeLabel(code: number): string {
  return closeName(code)?.toLowerCase() ?? (code === 1005 || code === 1006 ? 'client_gone' : 'other');
}
