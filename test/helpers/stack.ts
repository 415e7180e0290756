import { PrivateRedis } from '../../src/demo/private-redis';
import { GatewayProcess, readyStatus, startGateway, waitUntil } from './gateway';
import { killAll } from './processes';
import { plainClient, PlainRedis, privateRedis } from './redis';

/** What most integration suites run against: a private redis-server, a plain client on it, a gateway. */
export interface Stack {
  redis: PrivateRedis;
  producer: PlainRedis;
  gw: GatewayProcess;
}

/** Starts the stack and waits until the gateway's reader is ready (its group exists), so no tick is missed. */
export async function startStack(gatewayFlags: string[] = []): Promise<Stack> {
  const redis = await privateRedis();
  const producer = await plainClient(redis.url);
  const gw = await startGateway(redis.url, gatewayFlags);
  await waitUntil('ready', async () => (await readyStatus(gw.http)) === 200);
  return { redis, producer, gw };
}

/** Stops what startStack started; a start that failed part-way leaves holes, and every tracked process is killed. */
export async function stopStack(s: Partial<Stack>): Promise<void> {
  await s.gw?.stop();
  await s.producer?.quit();
  await s.redis?.stop();
  killAll();
}
