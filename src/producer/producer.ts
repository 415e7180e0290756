/**
 * The demo and benchmark tick producer: XADDs random-walk ticks at a steady rate, pipelined (`pipeline` commands
 * in flight per round trip, which node-redis sends in one write), trimming with `MAXLEN ~` so Redis memory stays
 * bounded. Rate is kept by a schedule, not by sleeping per tick: each round sends what is due since the start.
 */
import { ProducerConfig } from '../config';
import { Logger } from '../log';
import { closeRedis, createRedis } from '../redis';
import { RandomWalk } from './random-walk';

export interface RunningProducer {
  done: Promise<void>;
  stop(): Promise<void>;
  readonly sent: number;
}

export function runProducer(cfg: ProducerConfig, log: Logger): RunningProducer {
  const client = createRedis({ url: cfg.redis, name: 'tickgate-producer', backoffMaxMs: 2000, log });
  const walk = new RandomWalk(cfg.symbols, cfg.seed);
  const stream = cfg.stream[0];
  const trim = cfg.maxlen > 0 ? ['MAXLEN', '~', String(cfg.maxlen)] : [];
  let stopping = false;
  let sent = 0;

  const run = async () => {
    await client.connect();
    const started = performance.now();
    let reportedAt = started;
    let reportedSent = 0;
    while (!stopping && (cfg.count === 0 || sent < cfg.count)) {
      const now = performance.now();
      const due = Math.floor(((now - started) / 1000) * cfg.rate) - sent;
      const left = cfg.count === 0 ? Infinity : cfg.count - sent;
      const n = Math.min(due, cfg.pipeline, left);
      if (n <= 0) {
        await sleep(Math.max(1, Math.min(10, 1000 / cfg.rate)));
        continue;
      }
      const wallNow = Date.now();
      const batch: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) batch.push(client.sendCommand(['XADD', stream, ...trim, '*', ...walk.nextFields(wallNow)]));
      try {
        await Promise.all(batch);
        sent += n;
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'XADD failed; retrying');
        await sleep(200);
      }
      if (now - reportedAt >= 5000) {
        log.info({ sent, rate: Math.round(((sent - reportedSent) * 1000) / (now - reportedAt)) }, 'producing');
        reportedAt = now;
        reportedSent = sent;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    log.info({ sent, seconds: Number(seconds.toFixed(3)), ticksPerSecond: Math.round(sent / seconds) }, 'producer finished');
  };

  const done = run();
  const stop = async () => {
    stopping = true;
    await done.catch(() => undefined);
    await closeRedis(client);
  };
  return {
    done,
    stop,
    get sent() {
      return sent;
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
