/**
 * Why a batch could not be encoded in the binary format. The encoder refuses rather than corrupts: a value it cannot
 * represent exactly (an id part above 2^64-1, a malformed decimal) is an error, never a silently different number.
 */
export type WireEncodeErrorCode = 'INVALID_SYMBOL' | 'INVALID_ID' | 'ID_OUT_OF_RANGE' | 'INVALID_TS' | 'INVALID_DECIMAL' | 'INVALID_SENT' | 'INVALID_KIND';

export class WireEncodeError extends Error {
  constructor(readonly code: WireEncodeErrorCode, message: string) {
    super(message);
    this.name = 'WireEncodeError';
  }
}
