/**
 * Errors the SDK reports. `code` is the server's error code (BAD_REQUEST, INVALID_SYMBOL, ...; see
 * src/protocol/codes.ts) for a rejected request, or one of the SDK's own codes below.
 */
export type ClientErrorCode =
  /** The connection dropped before the server answered; the request may or may not have been applied. */
  | 'DISCONNECTED'
  /** close() was called, or the server closed the connection for good. */
  | 'CLOSED'
  /** A control message that is not valid JSON. */
  | 'BAD_MESSAGE'
  /** connect() was given no gateway URL, or one that is not an absolute ws:// or wss:// URL. */
  | 'INVALID_URL';

export class TickgateError extends Error {
  constructor(readonly code: ClientErrorCode | string, message: string) {
    super(message);
    this.name = 'TickgateError';
  }
}
