/** The slow-consumer ladder's settings and session limits its unit specs share, and their clock's origin. */
import type { LadderOptions } from '../../src/server/slow-consumers';
import type { SessionLimits } from '../../src/server/session';

export const LADDER: LadderOptions = {
  conflateAboveBytes: 1000,
  conflateAfterMs: 250,
  conflateIntervalMs: 100,
  snapshotOnlyAfterMs: 3000,
  slowDisconnectAfterMs: 10_000,
  recoverBelowBytes: 100,
  recoverAfterMs: 1000,
};

export const LIMITS: SessionLimits = { maxSymbols: 10, maxPayload: 1024, rateLimit: 10, rateBurst: 10, floodCloseAfter: 10, floodWindowMs: 10_000 };

/** Times in these specs are offsets from a wall-clock instant: the ladder keeps 0 for "not since". */
export const T0 = 1_764_000_000_000;
