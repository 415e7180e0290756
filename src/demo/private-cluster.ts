/**
 * A private, throw-away Redis Cluster on loopback for the tests and the benchmark: `masters` redis-server processes in
 * cluster mode (each with `replicas` replicas), joined by `redis-cli --cluster create`, the slots split evenly. It
 * never touches a Redis it did not start.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { isPortFree } from '../net';
import { PrivateRedis, startPrivateRedis } from './private-redis';

const run = promisify(execFile);

export interface PrivateCluster {
  nodes: PrivateRedis[];
  /** Every node's URL, comma-separated: what --redis takes with --redis-cluster. */
  seeds: string;
  /** The nodes not killed (yet). */
  live(): PrivateRedis[];
  /** The node serving `key`'s slot as master right now. */
  masterOf(key: string): Promise<PrivateRedis>;
  /** Resolves once every node that is up agrees the cluster is ok, every slot has a master that is up, and every replica has synced. */
  settled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Node timeout of these clusters: a killed master is replaced after about two of these. */
export const CLUSTER_NODE_TIMEOUT_MS = 1000;

export async function startPrivateCluster(masters: number, replicas = 0): Promise<PrivateCluster> {
  const ports: number[] = [];
  while (ports.length < masters * (1 + replicas)) {
    const p = await clusterPort();
    if (!ports.includes(p)) ports.push(p);
  }
  const nodes = await Promise.all(ports.map((p) => startPrivateRedis(p, { clusterNodeTimeoutMs: CLUSTER_NODE_TIMEOUT_MS })));
  const stop = () => Promise.all(nodes.map((n) => n.stop())).then(() => undefined);
  try {
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes']);
  } catch (err) {
    await stop();
    throw err;
  }
  const up = () => nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  const cli = (n: PrivateRedis, ...args: string[]) => run('redis-cli', ['-p', String(n.port), ...args]).then((r) => r.stdout);
  /** [from, to, master port] of every slot range, as node `n` sees it. */
  const slotMasters = async (n: PrivateRedis) =>
    (JSON.parse(await cli(n, '--json', 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][]).map(([from, to, m]) => [from, to, m[1]] as const);
  const settled = async (timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const checks = await Promise.all(up().map(async (n) => {
        const info = await cli(n, 'CLUSTER', 'INFO').catch(() => '');
        // A master that is down still serves its slots in CLUSTER SLOTS until a replica took over.
        const live = new Set(up().map((u) => u.port));
        const slotOwners = (await slotMasters(n).catch(() => [])).map(([, , port]) => port);
        // A replica can take over only once it has synced with its master.
        const replication = await cli(n, 'INFO', 'replication').catch(() => '');
        const synced = !replication.includes('role:slave') || replication.includes('master_link_status:up');
        return info.includes('cluster_state:ok') && /cluster_slots_ok:16384/.test(info) && slotOwners.length > 0
          && slotOwners.every((p) => live.has(p)) && synced;
      }));
      if (checks.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error('the cluster did not settle');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await settled();
  } catch (err) {
    await stop();
    throw err;
  }
  const masterOf = async (key: string) => {
    const slot = Number((await cli(up()[0], 'CLUSTER', 'KEYSLOT', key)).trim());
    for (const [from, to, port] of await slotMasters(up()[0])) if (slot >= from && slot <= to) return nodes.find((n) => n.port === port)!;
    throw new Error(`no master for ${key}`);
  };
  return { nodes, seeds: nodes.map((n) => n.url).join(','), live: up, masterOf, settled, stop };
}

/** A free port whose cluster bus port (+10000) is free too (below 55536, so the bus port exists). */
async function clusterPort(): Promise<number> {
  for (;;) {
    const p = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await isPortFree(p)) && (await isPortFree(p + 10_000))) return p;
  }
}
