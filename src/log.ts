/**
 * Structured JSON logs on stdout (pino: asynchronous-safe, and cheap when a level is off).
 *
 * Hot paths never log per tick; they use `onceEvery`, which lets one line through per key and interval and counts
 * what it held back, so a flood of bad entries cannot flood the log.
 */
import pino, { Logger } from 'pino';

export type { Logger };

/** JSON lines by default; `pretty` (and a terminal on stdout) gives colored human-readable lines via pino-pretty. */
export function createLogger(level: string, name = 'tickgate', pretty = false): Logger {
  const options = { name, level, base: { pid: process.pid } };
  if (pretty && process.stdout.isTTY) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const prettyStream = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
    return pino(options, prettyStream({ colorize: true, translateTime: 'SYS:HH:MM:ss.l' }));
  }
  return pino(options);
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
