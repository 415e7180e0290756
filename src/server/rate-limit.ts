/**
 * A token bucket per connection, kept in plain numbers on the session so it costs no allocation per request.
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
