/**
 * The connections ingest talks to Redis through, per group of streams read together.
 *
 * One Redis: one endpoint for every stream (one XREADGROUP reads them all). A Redis Cluster: one endpoint per
 * stream, because a multi-key XREADGROUP must stay in one slot and each shard has its own slot; it connects to the
 * master of that slot (src/redis/cluster.ts) and moves when the slot does (a MOVED reply, a failover).
 *
 * Each endpoint holds two connections: `reader` for the blocking reads (nothing else may queue behind them) and
 * `control` for everything else (acks, setup, scans, sampling).
 */
import { Logger } from '../log';
import { ClusterTopology } from './cluster';
import { closeRedis, connectInBackground, createRedis, Redis } from './connection';

export interface Endpoint {
  readonly streams: string[];
  /** The current connections; a relocation replaces them, so read them per use, never keep them. */
  readonly reader: Redis;
  readonly control: Redis;
  /**
   * After a redirect or a connection that does not come back: finds where the streams live now and moves both
   * connections there. Resolves true when they moved (always false on a single Redis).
   */
  relocate(): Promise<boolean>;
  close(): Promise<void>;
}

/** The control connection of a stream's endpoint, as it is now (commands that do not block: scans, sampling). */
export type ControlFor = (stream: string) => Redis;

/** Looks up each stream's endpoint once; the connection itself is read per call, as a relocation replaces it. */
export function controlFor(endpoints: readonly Endpoint[]): ControlFor {
  const byStream = new Map<string, Endpoint>();
  for (const e of endpoints) for (const s of e.streams) byStream.set(s, e);
  return (stream) => {
    const endpoint = byStream.get(stream);
    if (endpoint === undefined) throw new Error(`stream ${stream} is not read by this gateway`);
    return endpoint.control;
  };
}

export interface EndpointOptions {
  /** One URL, or the seed nodes of a cluster. */
  urls: string[];
  cluster: boolean;
  streams: string[];
  /** Names the connections in CLIENT LIST: `<name>-read`, `<name>-ctl`. */
  name: string;
  backoffMaxMs: number;
  log: Logger;
  /** The reading connection is reconnecting (a metric). */
  onReconnecting(): void;
}

export function openEndpoints(opts: EndpointOptions): Endpoint[] {
  if (!opts.cluster) return [new StreamEndpoint(opts.streams, opts, undefined)];
  const topology = new ClusterTopology(opts.urls, opts.log);
  return opts.streams.map((stream) => new StreamEndpoint([stream], opts, topology));
}

class Connections {
  readonly reader: Redis;
  readonly control: Redis;

  constructor(readonly url: string, opts: EndpointOptions) {
    const common = { url, backoffMaxMs: opts.backoffMaxMs, log: opts.log };
    this.reader = createRedis({ ...common, name: `${opts.name}-read`, onReconnecting: opts.onReconnecting });
    this.control = createRedis({ ...common, name: `${opts.name}-ctl` });
    connectInBackground(this.reader, opts.log);
    connectInBackground(this.control, opts.log);
  }

  close(): Promise<unknown> {
    return Promise.allSettled([closeRedis(this.reader), closeRedis(this.control)]);
  }
}

/** Without a topology (one Redis) the connections never move; in a cluster they follow the slot of its one stream. */
class StreamEndpoint implements Endpoint {
  private connections: Connections;
  private closed = false;

  constructor(readonly streams: string[], private readonly opts: EndpointOptions, private readonly topology: ClusterTopology | undefined) {
    // In a cluster any node will do until the first discovery: its first command answers MOVED, and the reader relocates.
    this.connections = new Connections(opts.urls[0], opts);
  }

  get reader(): Redis {
    return this.connections.reader;
  }

  get control(): Redis {
    return this.connections.control;
  }

  async relocate(): Promise<boolean> {
    if (this.topology === undefined) return false;
    await this.topology.refresh();
    const url = await this.topology.masterOf(this.streams[0]);
    if (this.closed || url === this.connections.url) return false;
    const old = this.connections;
    this.connections = new Connections(url, this.opts);
    this.opts.log.info({ stream: this.streams[0], from: old.url, to: url }, 'stream moved to another cluster node: reconnecting there');
    void old.close();
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connections.close();
  }
}
