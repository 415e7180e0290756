/**
 * `tickgate demo`: a gateway and a producer in one process, on the Redis the user named, else a local one that
 * answers, else a private redis-server. The demo writes to its own stream key (`tickgate:demo` by default) so it
 * can never collide with a user's data.
 */
import { DemoConfig } from '../config';
import { Logger } from '../log';
import { startGateway } from '../gateway';
import { runProducer } from '../producer/producer';
import { pingRedis, PrivateRedis, startPrivateRedis } from './private-redis';

export async function runDemo(cfg: DemoConfig, log: Logger): Promise<{ stop(): Promise<void>; abort(): Promise<void> }> {
  let privateRedis: PrivateRedis | undefined;
  let redis = cfg.redis;
  if (redis === '') {
    const local = new URL(cfg.localRedis);
    if (await pingRedis(local.hostname, Number(local.port || 6379))) {
      redis = cfg.localRedis;
    } else {
      privateRedis = await startPrivateRedis();
      redis = privateRedis.url;
    }
  }
  log.info({ redis, private: privateRedis !== undefined, stream: cfg.stream[0] }, 'demo using redis');
  const gateway = await startGateway({ ...cfg, redis }, log);
  const producer = runProducer({ ...cfg, redis }, log);
  const host = cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host;
  process.stdout.write(`\ntickgate demo: serving ws://${host}:${gateway.port}/v1/stream  (${cfg.symbols} symbols at ${cfg.rate} ticks/s, Ctrl-C to stop)\n` +
    `  live board: http://${host}:${gateway.port}/\n` +
    `  redis: ${redis}${privateRedis ? ' (private redis-server, removed on exit)' : ''}, stream: ${cfg.stream[0]}\n` +
    `  try: {"op":"subscribe","id":1,"symbols":["BTC-USD","ETH-USD"]}\n\n`);
  return {
    stop: async () => {
      await producer.stop();
      await gateway.stop();
      await privateRedis?.stop();
    },
    abort: gateway.abort,
  };
}
