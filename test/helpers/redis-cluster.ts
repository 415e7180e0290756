/** A private Redis Cluster per test file (src/demo/private-cluster.ts), its processes tracked, with a client for the test's own reads. */
import { createCluster } from 'redis';
import { PrivateCluster as Cluster, startPrivateCluster } from '../../src/demo/private-cluster';
import { track } from './processes';

export type ClusterClient = ReturnType<typeof createCluster>;

export interface PrivateCluster extends Cluster {
  /**
   * A cluster client for the test's own reads (XRANGE) and writes; closed by stop(). Replaced by settled(): node-redis
   * v4 does not rediscover a slot whose master died (see src/redis/cluster.ts), so read it after each settled().
   */
  readonly client: ClusterClient;
}

export async function privateCluster(masters = 3, replicas = 0): Promise<PrivateCluster> {
  const cluster = await startPrivateCluster(masters, replicas);
  for (const n of cluster.nodes) track(n.child);
  let client: ClusterClient | undefined;
  const settled = async (timeoutMs?: number) => {
    await cluster.settled(timeoutMs);
    await client?.disconnect().catch(() => undefined);
    client = createCluster({ rootNodes: cluster.live().map((n) => ({ url: n.url })), defaults: { socket: { reconnectStrategy: false } } });
    client.on('error', () => undefined);
    await client.connect();
  };
  await settled();
  return {
    ...cluster,
    settled,
    get client() {
      return client!;
    },
    stop: async () => {
      await client?.disconnect().catch(() => undefined);
      await cluster.stop();
    },
  };
}
