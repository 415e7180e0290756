/**
 * Where the producer's XADDs go: one Redis, or a Redis Cluster through node-redis v4's cluster client (each key to
 * the master of its slot; MOVED and ASK followed by the client).
 *
 * A cluster client whose master died is rebuilt: node-redis v4 rediscovers the slot map only on a MOVED reply, which
 * a dead node never sends, so until then every XADD for its slots would fail. The new client discovers the map from
 * the seeds and every node the old one knew, and finds the promoted replica once the cluster has promoted it.
 */
import { Logger } from '../log';
import { Cluster, createClusterClient, isRedirect, rememberNodes } from '../redis/cluster';
import { closeRedis, createRedis, Redis } from '../redis/connection';

export interface StreamWriter {
  connect(): Promise<void>;
  /** XADD `args` (everything after the key) to `key`. */
  xadd(key: string, args: string[]): Promise<unknown>;
  /** An XADD failed: the writer may need to find the cluster's nodes again before the retry. */
  failed(err: unknown): Promise<void>;
  close(): Promise<void>;
}

export function createStreamWriter(urls: string[], cluster: boolean, log: Logger): StreamWriter {
  return cluster ? new ClusterWriter(urls, log) : new SingleWriter(createRedis({ url: urls[0], name: 'tickgate-producer', backoffMaxMs: 2000, log }));
}

class SingleWriter implements StreamWriter {
  constructor(private readonly client: Redis) {}

  async connect(): Promise<void> {
    await this.client.connect();
  }

  xadd(key: string, args: string[]): Promise<unknown> {
    return this.client.sendCommand(['XADD', key, ...args]);
  }

  async failed(): Promise<void> {
    // node-redis reconnects by itself.
  }

  close(): Promise<void> {
    return closeRedis(this.client);
  }
}

class ClusterWriter implements StreamWriter {
  private cluster: Cluster;
  private readonly known: Set<string>;

  constructor(seeds: string[], private readonly log: Logger) {
    this.known = new Set(seeds);
    this.cluster = this.create();
  }

  async connect(): Promise<void> {
    await this.cluster.connect();
    rememberNodes(this.cluster, this.known);
  }

  xadd(key: string, args: string[]): Promise<unknown> {
    return this.cluster.sendCommand(key, false, ['XADD', key, ...args]);
  }

  /** Anything but a redirect the client could not follow means a node is gone: build a new client. */
  async failed(err: unknown): Promise<void> {
    if (isRedirect(err) && !(err as Error).message.startsWith('CLUSTERDOWN')) return;
    const old = this.cluster;
    this.cluster = this.create();
    await old.disconnect().catch((e: Error) => this.log.debug({ err: e.message }, 'closing the old cluster client failed'));
    try {
      await this.cluster.connect();
      rememberNodes(this.cluster, this.known);
      this.log.info({ masters: this.cluster.masters.map((m) => `${m.host}:${m.port}`) }, 'cluster slot map discovered again');
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'cannot reach any cluster node yet; retrying');
    }
  }

  async close(): Promise<void> {
    await this.cluster.quit().catch(() => this.cluster.disconnect());
  }

  private create(): Cluster {
    const cluster = createClusterClient([...this.known], 'tickgate-producer');
    cluster.on('error', (err: Error) => this.log.debug({ err: err.message }, 'cluster node error'));
    return cluster;
  }
}
