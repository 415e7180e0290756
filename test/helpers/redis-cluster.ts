/**
 * A private Redis Cluster per test file: `masters` redis-server processes in cluster mode (each with `replicas`
 * replicas), joined by `redis-cli --cluster create`, the slots split evenly. Every process is tracked and stopped.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { createCluster } from 'redis';
import { PrivateRedis } from '../../src/demo/private-redis';
import { privateRedis } from './redis';

const run = promisify(execFile);

export type ClusterClient = ReturnType<typeof createCluster>;

export interface PrivateCluster {
  nodes: PrivateRedis[];
  /** Every node's URL, comma-separated: what --redis takes with --redis-cluster. */
  seeds: string;
  /** A cluster client for the test's own reads (XRANGE) and writes; closed by stop(). */
  client: ClusterClient;
  /** The node serving `key`'s slot as master right now. */
  masterOf(key: string): Promise<PrivateRedis>;
  /** Resolves once every node that is up agrees the cluster is ok and every slot has a master that is up. */
  settled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Node timeout of the test clusters: a killed master is replaced after about two of these. */
export const CLUSTER_NODE_TIMEOUT_MS = 1000;

export async function privateCluster(masters = 3, replicas = 0): Promise<PrivateCluster> {
  const ports: number[] = [];
  while (ports.length < masters * (1 + replicas)) {
    const p = await clusterPort();
    if (!ports.includes(p)) ports.push(p);
  }
  const nodes = await Promise.all(ports.map((p) => privateRedis(p, { clusterNodeTimeoutMs: CLUSTER_NODE_TIMEOUT_MS })));
  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes']);
  const client = createCluster({ rootNodes: nodes.map((n) => ({ url: n.url })), defaults: { socket: { reconnectStrategy: false } } });
  client.on('error', () => undefined);
  const up = () => nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  const cli = (n: PrivateRedis, ...args: string[]) => run('redis-cli', ['-p', String(n.port), ...args]).then((r) => r.stdout);
  const settled = async (timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const checks = await Promise.all(up().map(async (n) => {
        const info = await cli(n, 'CLUSTER', 'INFO').catch(() => '');
        const slots = await cli(n, 'CLUSTER', 'SLOTS').catch(() => '');
        // A master that is down still appears in CLUSTER SLOTS until a replica took over: its port must not.
        const dead = nodes.filter((d) => !up().includes(d)).some((d) => new RegExp(`^${d.port}$`, 'm').test(slots));
        return info.includes('cluster_state:ok') && /cluster_slots_ok:16384/.test(info) && !dead;
      }));
      if (checks.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error('the cluster did not settle');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await settled();
  await client.connect();
  const masterOf = async (key: string) => {
    const reply = await cli(up()[0], 'CLUSTER', 'KEYSLOT', key);
    const slot = Number(reply.trim());
    const slots = await cli(up()[0], '--json', 'CLUSTER', 'SLOTS').catch(() => '');
    for (const [from, to, master] of JSON.parse(slots) as [number, number, [string, number]][]) {
      if (slot >= from && slot <= to) return nodes.find((n) => n.port === master[1])!;
    }
    throw new Error(`no master for ${key}`);
  };
  return {
    nodes,
    seeds: nodes.map((n) => n.url).join(','),
    client,
    masterOf,
    settled,
    stop: async () => {
      await client.disconnect().catch(() => undefined);
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/** A free port whose cluster bus port (+10000) is free too. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const p = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await isFree(p)) && (await isFree(p + 10_000))) return p;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
