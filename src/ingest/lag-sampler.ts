/**
 * Samples the consumer group's lag and pending count (XINFO GROUPS) on a timer, off the hot path and on the
 * control connection, so a slow or absent Redis can delay a sample but never a read or a scrape.
 */
import { Logger, onceEvery } from '../log';
import { Metrics } from '../metrics/metrics';
import { timedCommand } from '../redis/connection';
import type { ControlFor } from '../redis/endpoints';
import { findGroup } from './replies';

export function startLagSampler(controlFor: ControlFor, streams: string[], group: string, intervalMs: number, commandTimeoutMs: number,
  metrics: Metrics, log: Logger): () => void {
  const logError = onceEvery(60_000);
  let busy = false;
  const sample = async () => {
    if (busy) return;
    busy = true;
    try {
      for (const stream of streams) {
        const control = controlFor(stream);
        // A stream whose node is away is sampled next time; the others still are.
        if (!control.isReady) continue;
        const groups = await timedCommand<unknown[][]>(control, ['XINFO', 'GROUPS', stream], commandTimeoutMs, log);
        const mine = findGroup(groups, group);
        if (!mine) continue;
        // Redis reports no lag (nil) when it cannot compute it (an XDEL after the group's position, or a read counter
        // the reader reset after a loss, until the group next reaches the stream's last entry). The series is dropped
        // then, rather than showing a stale value.
        if (mine.lag !== undefined) metrics.groupLag.set({ stream }, mine.lag);
        else metrics.groupLag.remove({ stream });
        metrics.groupPending.set({ stream }, mine.pending);
      }
    } catch (err) {
      const message = (err as Error).message;
      logError(message, (suppressed) => log.warn({ err: message, suppressed }, 'consumer-group sampling failed'));
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void sample(), intervalMs);
  return () => clearInterval(timer);
}
