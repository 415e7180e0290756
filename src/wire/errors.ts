/** Why a data frame could not be decoded. One class, a code per failure mode, so a client can count and act. */
export type FrameDecodeErrorCode =
  | 'BAD_JSON_FRAME'
  | 'TRUNCATED'
  | 'BAD_VERSION'
  | 'BAD_FLAGS'
  | 'TOO_LARGE'
  | 'BAD_LZ4'
  | 'BAD_VALUE';

export class FrameDecodeError extends Error {
  constructor(readonly code: FrameDecodeErrorCode, message: string) {
    super(message);
    this.name = 'FrameDecodeError';
  }
}
