/**
 * The demo and benchmark tick producer: XADDs random-walk ticks at a steady rate, pipelined (`pipeline` commands
 * in flight per round trip, which node-redis sends in one write), trimming with `MAXLEN ~` so Redis memory stays
 * bounded. Rate is kept by a schedule, not by sleeping per tick: each round sends what is due since the start.
 */
import { ProducerConfig, redisUrls, streamKeys } from '../config';
import { Logger } from '../log';
import { keyOf } from '../streams/shards';
import { RandomWalk } from './random-walk';
import { createStreamWriter } from './stream-writer';

export interface RunningProducer {
  done: Promise<void>;
  stop(): Promise<void>;
  readonly sent: number;
}

export function runProducer(cfg: ProducerConfig, log: Logger): RunningProducer {
  const writer = createStreamWriter(redisUrls(cfg), cfg.redisCluster, log);
  const walk = new RandomWalk(cfg.symbols, cfg.seed);
  // With --shards, each symbol's ticks go to its own shard stream (src/streams/shards.ts); else to the first stream.
  const keys = streamKeys({ ...cfg, stream: cfg.stream.slice(0, 1) });
  const keyBySymbol = new Map(walk.symbols.map((sym) => [sym, keyOf(sym, keys)]));
  const trim = cfg.maxlen > 0 ? ['MAXLEN', '~', String(cfg.maxlen)] : [];
  let stopping = false;
  let sent = 0;

  const run = async () => {
    await writer.connect();
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
      for (let i = 0; i < n; i++) {
        const fields = walk.nextFields(wallNow);
        batch.push(writer.xadd(keyBySymbol.get(fields[1])!, [...trim, '*', ...fields]));
      }
      try {
        await Promise.all(batch);
        sent += n;
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'XADD failed; retrying');
        await writer.failed(err);
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
    await writer.close();
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
