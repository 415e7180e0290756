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

/**
 * For suites that start their own gateways (and restart or kill them) on one private redis-server: it remembers
 * every gateway and client they start, and stops them all, then Redis, when the test (or the suite) ends.
 */
export class Fixture {
  redis!: PrivateRedis;
  /** A plain client on `redis`, writing ticks the way any producer would. */
  producer!: PlainRedis;
  private readonly gateways: GatewayProcess[] = [];
  private readonly closables: { close(): void }[] = [];

  async start(): Promise<void> {
    this.redis = await privateRedis();
    this.producer = await plainClient(this.redis.url);
  }

  /** A gateway on this fixture's Redis; resolves once its reader is ready (its group exists), unless `ready` is false. */
  async gateway(flags: string[] = [], ready = true): Promise<GatewayProcess> {
    const g = await startGateway(this.redis.url, flags);
    this.gateways.push(g);
    if (ready) await waitUntil('ready', async () => (await readyStatus(g.http)) === 200);
    return g;
  }

  /** Closes `c` when the test ends. */
  keep<C extends { close(): void }>(c: C): C {
    this.closables.push(c);
    return c;
  }

  /** Kills every gateway started so far (SIGKILL). */
  async killGateways(): Promise<void> {
    for (const g of this.gateways.splice(0)) await g.stop('SIGKILL');
  }

  async stop(): Promise<void> {
    for (const c of this.closables.splice(0)) c.close();
    await this.killGateways();
    // disconnect(), not quit(): a test may have stopped this Redis, and quit waits for a reply that never comes.
    await this.producer?.disconnect().catch(() => undefined);
    await this.redis?.stop();
    killAll();
  }
}

/** A Fixture started before and stopped after each test (or, with 'all', the whole suite). */
export function fixture(scope: 'each' | 'all' = 'each'): Fixture {
  const fx = new Fixture();
  (scope === 'each' ? beforeEach : before)(() => fx.start());
  (scope === 'each' ? afterEach : after)(() => fx.stop());
  return fx;
}
