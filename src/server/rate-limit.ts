/**
 * Per-connection request limits, kept in plain numbers on the session so they cost no allocation per request: a
 * token bucket (how many requests are served), and a window count of the requests it refused (when a client is
 * flooding and is closed).
 */
export interface Bucket {
  tokens: number;
  refilledAt: number;
}

export function newBucket(burst: number, now: number): Bucket {
  return { tokens: burst, refilledAt: now };
}

/** Takes one token if there is one. `rate` is tokens per second, `burst` the bucket size. */
export function takeToken(b: Bucket, rate: number, burst: number, now: number): boolean {
  const elapsed = now - b.refilledAt;
  if (elapsed > 0) {
    b.tokens = Math.min(burst, b.tokens + (elapsed * rate) / 1000);
    b.refilledAt = now;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

/**
 * Refused requests counted over fixed windows: a window opens at the first refusal after the previous one ended and
 * lasts `windowMs`. Served requests do not reset the count: a flooder at any multiple of the rate limit gets a
 * token now and then, and counting refusals "in a row" let it run forever. The session holds these two numbers
 * itself (no object per connection).
 */
export interface FloodWindow {
  /** When the current window opened; refusals before `floodOpenedAt + windowMs` count in it. */
  floodOpenedAt: number;
  floodRefused: number;
}

/** Counts one refused request; true when it is more than `allowed` refusals within one window: flooding. */
export function refusedIsFlooding(w: FloodWindow, allowed: number, windowMs: number, now: number): boolean {
  if (now - w.floodOpenedAt >= windowMs) {
    w.floodOpenedAt = now;
    w.floodRefused = 0;
  }
  w.floodRefused++;
  return w.floodRefused > allowed;
}
