/**
 * Redis Cluster: where each stream key lives now, from node-redis v4's cluster client (its slot map, MOVED/ASK).
 *
 * Why the gateway does not send its stream commands through the cluster client: the cluster client shares one
 * connection per node, and a blocking XREADGROUP on it would hold every other command to that node (acks, scans)
 * for up to --read-block-ms. So each group of streams read together gets its own pair of connections to the master
 * of its slot (src/redis/endpoints.ts), and this module tells it where that master is.
 *
 * Why the map is rediscovered here rather than left to the cluster client: node-redis v4 rediscovers the slot map
 * only on a MOVED reply. When a master dies, its connection keeps reconnecting to the dead address and commands for
 * its slots fail until something answers MOVED, which a dead node never does. refresh() builds a new map from the
 * seeds and every node seen so far, so a promoted replica is found as soon as the cluster has promoted it.
 */
import { createCluster } from 'redis';
import { Logger } from '../log';
import { keySlot } from '../streams/shards';

export type Cluster = ReturnType<typeof createCluster>;

/** How long one discovery may take before the next seed is tried. */
const CONNECT_TIMEOUT_MS = 2000;

/** A cluster client for commands that do not block (the producer's XADDs), with the options every tickgate client uses. */
export function createClusterClient(rootUrls: string[], name: string): Cluster {
  return createCluster({
    rootNodes: rootUrls.map((url) => ({ url })),
    // The replicas are listed too, so a later discovery can start from one of them once its master is gone.
    useReplicas: true,
    // Connections to a node are opened when a command needs it: a map built only to be read opens none.
    minimizeConnections: true,
    defaults: {
      name,
      disableOfflineQueue: true,
      socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: false },
    },
  });
}

/**
 * Adds every node `cluster` knows (masters and replicas) to `known`, as URLs: the next discovery can then start from
 * a node that was not among the seeds, once a seed is gone.
 */
export function rememberNodes(cluster: Cluster, known: Set<string>): void {
  for (const node of [...cluster.masters, ...cluster.replicas]) known.add(`redis://${node.host}:${node.port}`);
}

/** host:port of the master serving each slot, as one discovery saw it. */
export class ClusterTopology {
  private readonly known = new Set<string>();
  private masters: (string | undefined)[] = [];
  private refreshing: Promise<void> | undefined;

  constructor(seeds: string[], private readonly log: Logger) {
    for (const url of seeds) this.known.add(url);
  }

  /** The URL of the master of `key`'s slot, from the last discovery (made now if there was none). */
  async masterOf(key: string): Promise<string> {
    if (this.masters.length === 0) await this.refresh();
    const address = this.masters[keySlot(key)];
    if (address === undefined) throw new Error(`no master serves the slot of ${key} (cluster down or slots unassigned)`);
    return `redis://${address}`;
  }

  /** Discovers the slot map again; concurrent callers share one discovery. */
  refresh(): Promise<void> {
    return (this.refreshing ??= this.discover().finally(() => {
      this.refreshing = undefined;
    }));
  }

  private async discover(): Promise<void> {
    const cluster = createClusterClient([...this.known], 'tickgate-discovery');
    // Failed seeds are reported as 'error' events during connect(); connect() itself throws if none answered.
    cluster.on('error', () => undefined);
    try {
      await cluster.connect();
      const masters: (string | undefined)[] = new Array(cluster.slots.length);
      for (let slot = 0; slot < cluster.slots.length; slot++) {
        const master = cluster.slots[slot]?.master;
        masters[slot] = master === undefined ? undefined : `${master.host}:${master.port}`;
      }
      rememberNodes(cluster, this.known);
      this.masters = masters;
      this.log.debug({ masters: cluster.masters.map((m) => `${m.host}:${m.port}`) }, 'cluster slot map discovered');
    } finally {
      await cluster.disconnect().catch((err: Error) => this.log.debug({ err: err.message }, 'closing the discovery client failed'));
    }
  }
}

/**
 * Replies after which a cluster command must go elsewhere: the slot moved (MOVED, ASK), the node is a replica now
 * (READONLY), or the cluster is reconfiguring (CLUSTERDOWN, TRYAGAIN).
 */
export function isRedirect(err: unknown): boolean {
  const message = err instanceof Error ? err.message : '';
  return /^(MOVED|ASK|READONLY|CLUSTERDOWN|TRYAGAIN)\b/.test(message);
}
