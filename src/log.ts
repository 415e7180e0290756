/**
 * Structured JSON logs on stdout (pino: asynchronous-safe, and cheap when a level is off).
 *
 * Hot paths never log per tick; they use `onceEvery`, which lets one line through per key and interval and counts
 * what it held back, so a flood of bad entries cannot flood the log.
 */
import pino, { Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'tickgate'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}

export function onceEvery(intervalMs: number): (key: string, log: (suppressed: number) => void) => void {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (key, log) => {
    const now = Date.now();
    const seen = last.get(key);
    if (seen && now - seen.at < intervalMs) {
      seen.suppressed++;
      return;
    }
    log(seen?.suppressed ?? 0);
    last.set(key, { at: now, suppressed: 0 });
  };
}
