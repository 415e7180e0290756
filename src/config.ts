/**
 * Configuration: read once from flags and `TICKGATE_*` environment variables, validated, typed.
 *
 * Each option is declared once; its flag (`--read-count`) and variable (`TICKGATE_READ_COUNT`) derive from its
 * name, so the CLI, the environment and the README table cannot drift apart. Flags win over the environment.
 */
import { hostname } from 'node:os';
import { shardKeys } from './streams/shards';

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

interface Option<T> {
  kind: 'int' | 'string' | 'bool' | 'list';
  default: T;
  help: string;
  min?: number;
  max?: number;
  /** The environment variable, when it is not TICKGATE_ + the name in upper snake case. */
  env?: string;
  /** Extra check on the parsed value; returns an error message or undefined. */
  check?(v: T): string | undefined;
}

const int = (def: number, min: number, max: number, help: string): Option<number> => ({ kind: 'int', default: def, min, max, help });
const str = (def: string, help: string, check?: (v: string) => string | undefined): Option<string> => ({ kind: 'string', default: def, help, check });
const bool = (def: boolean, help: string): Option<boolean> => ({ kind: 'bool', default: def, help });
const list = (def: string[], help: string): Option<string[]> => ({ kind: 'list', default: def, help });

const streams = (def: string[], help: string): Option<string[]> =>
  ({ ...list(def, help), check: (v: string[]) => (v.length > 0 ? undefined : 'must name at least one stream') });

const redisUrl = (v: string) => (/^rediss?:\/\/[^\s,]+$/.test(v) ? undefined : 'must be a redis:// or rediss:// URL');
/** One URL, or (with --redis-cluster) the cluster's seed nodes, comma-separated; one is enough, more survive its loss. */
const redisUrlList = (v: string) => (v.split(',').every((u) => redisUrl(u.trim()) === undefined)
  ? undefined : 'must be a redis:// or rediss:// URL (with --redis-cluster: seed node URLs, comma-separated)');
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const logLevel = (v: string) => (LOG_LEVELS.includes(v) ? undefined : `must be one of ${LOG_LEVELS.join(', ')}`);
const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

const withEnv = <T>(opt: Option<T>, env: string): Option<T> => ({ ...opt, env });

const common = {
  redis: withEnv(str(DEFAULT_REDIS, 'Redis URL; with --redis-cluster, one or more seed node URLs, comma-separated', redisUrlList), 'TICKGATE_REDIS_URL'),
  redisCluster: bool(false, 'Redis Cluster mode: --redis names seed nodes; slots, MOVED/ASK and failovers are followed'),
  stream: streams(['ticks'], 'stream key(s), comma-separated; with --shards above 1, the one base name of the shard streams'),
  shards: int(1, 1, 1024, 'shard streams per stream: each symbol is written to and read from `<stream>:<i>{<tag>}`, i = fnv1a32(symbol) mod N (README "Scaling out"); 1: the stream key itself'),
  logLevel: str('info', 'log level: fatal, error, warn, info, debug, trace, silent', logLevel),
  logPretty: bool(false, 'human-readable colored logs instead of JSON lines, when stdout is a terminal'),
};

const gatewayOptions = {
  ...common,
  port: int(9001, 0, 65535, 'listen port; 0 picks a free one (logged)'),
  workers: int(0, 0, 64, 'server threads: 0 serves clients on the main thread beside ingest (no hand-off per read; the cheapest up to the fan-out one core carries); N: N worker threads, each a uWS App on the same port'),
  topicCapacity: int(65_536, 16, 1 << 24, 'topics (symbol × format) with subscribers that each worker can track'),
  sessionCapacity: int(131_072, 16, 1 << 24, 'connections each worker can hold; beyond it new ones are closed with 4006'),
  host: str('0.0.0.0', 'listen address'),
  instance: str(hostname(), 'instance id: names the consumer group and consumer, and is the instance label of every metric'),
  group: str('', 'consumer group (default tickgate:<instance>); one per gateway instance, never shared'),
  consumer: str('', 'consumer name (default: the instance id); stable so a restart re-reads its own pending entries'),
  readCount: int(512, 1, 100_000, 'XREADGROUP COUNT: entries per read'),
  readBlockMs: int(1000, 1, 60_000, 'XREADGROUP BLOCK in ms; also bounds how long shutdown waits for the reader'),
  // Acks go out after the publish, so the interval never delays a client: it bounds what a crash leaves pending to be
  // re-read (about one interval of reads). 50 ms already turns one XACK per read into at most 20 per stream per
  // second. At most 500: an entry waiting for its ack must never look idle to XAUTOCLAIM (--claim-idle-ms ≥ 1000).
  ackIntervalMs: int(50, 0, 500, 'longest a published entry waits for its XACK: one XACK per stream carries the ids published within it; bounds what a crash re-reads, never client latency'),
  readIdleMs: int(50, 0, 1000, 'while no client holds any subscription, at most one read per this many ms (ingest costs little while nobody listens); a first subscriber\'s first live tick waits at most this long, once'),
  coalesceAboveDeliveries: int(60_000, 0, 100_000_000, 'deliveries per second above which reads are coalesced (--coalesce-ms); 0: never'),
  coalesceMs: int(5, 0, 100, 'above --coalesce-above-deliveries, reads start at most this often: frames carry more ticks and a client\'s frames of one read leave in one write; the most a tick waits for it'),
  ackBatch: int(1024, 1, 100_000, 'published ids of one stream that are acked at once without waiting for --ack-interval-ms; also the most ids one XACK carries'),
  claimIdleMs: int(30_000, 1000, 3_600_000, 'XAUTOCLAIM entries idle this long at other consumers of the group'),
  claimIntervalMs: int(10_000, 100, 3_600_000, 'how often to run XAUTOCLAIM'),
  maxDeliveries: int(5, 1, 1000, 'an entry delivered more often goes to the dead-letter stream and is acked'),
  deadLetterSuffix: str(':dead', 'dead-letter stream key = stream key + this suffix'),
  redisBackoffMaxMs: int(2000, 10, 60_000, 'cap of the reconnect backoff'),
  redisCommandTimeoutMs: int(3000, 100, 600_000, 'a Redis command unanswered this long (the blocking read: --read-block-ms plus this) fails; the connection is reopened and /readyz is 503 until Redis answers'),
  maxSymbols: int(1000, 1, 100_000, 'symbols per connection'),
  maxPayload: int(128 * 1024, 64, 16 << 20, 'largest client frame in bytes (a subscribe to max-symbols symbols must fit); larger ones close with 1009'),
  rateLimit: int(100, 1, 1_000_000, 'requests per second per connection (token bucket refill)'),
  rateBurst: int(200, 1, 1_000_000, 'requests a connection may send at once (token bucket size)'),
  // A client over the limit by more than floodCloseAfter / floodWindowS requests per second (default 200/s: at 3× the
  // default limit) is closed within one window; a one-off burst of up to floodCloseAfter + rateBurst requests is not.
  floodCloseAfter: int(2000, 1, 10_000_000, 'RATE_LIMITED requests allowed within --flood-window-s; the next one closes the connection with 4002'),
  floodWindowS: int(10, 1, 3600, 'the window (seconds, opened by a RATE_LIMITED request) over which --flood-close-after counts'),
  idleTimeoutS: { ...int(120, 0, 960, 'close a connection silent this long (seconds; pings are sent automatically); 0 or 8–960'),
    // uWS aborts the whole process for 1–7 (its timer granularity is 4 s).
    check: (v: number) => (v === 0 || v >= 8 ? undefined : 'must be 0 (off) or at least 8') },
  maxBackpressure: int(16 << 20, 1024, 1 << 30, 'bytes buffered for one client before it is closed as slow (4001); the ladder acts well before it'),
  backpressureSoftLimit: int(64 * 1024, 0, 1 << 30, 'bytes buffered for one client above which it counts as backpressured (metric)'),
  metricsPort: int(0, 0, 65535, 'serve /metrics on this separate port instead of the main one (0: on the main port)'),
  lagSampleMs: int(5000, 100, 3_600_000, 'how often to sample consumer-group lag and pending count (XINFO GROUPS)'),
  // The drain is the first step of a graceful stop: what follows (the reader's last read, its acks, closing Redis) takes
  // up to about --read-block-ms more, so the default deadline leaves that much and more after the default drain.
  drainTimeoutMs: int(5000, 0, 60_000, 'on SIGTERM/SIGINT, longest wait for clients to leave: /readyz turns 503, accept stops, each client is closed with 4007 once its send buffer is empty, and those left are closed at the end of it'),
  shutdownTimeoutMs: int(10_000, 100, 60_000, 'hard deadline for graceful shutdown (drain included; must be above --drain-timeout-ms); past it the process exits with status 1'),
  historyPerSymbol: int(1024, 1, 1_000_000, 'recent ticks kept in memory per symbol for snapshots and resumes'),
  maxReplayTicks: int(20_000, 1, 10_000_000, 'most ticks one resume request replays over all its symbols; symbols beyond it get RESUME_UNAVAILABLE and a snapshot'),
  resumeScanLimit: int(200_000, 1000, 100_000_000, 'most stream entries read from Redis for one resume request (all its symbols), and how far back each stream is read for the latest-tick index'),
  catchupScanRate: int(100_000, 1000, 100_000_000, 'stream entries per second the whole process reads from Redis for resumes and the latest-tick index'),
  resumeTimeoutMs: int(3000, 100, 600_000, 'longest a resume waits for its Redis reads; symbols not read by then get RESUME_UNAVAILABLE and a snapshot'),
  conflateAboveBytes: int(256 * 1024, 1024, 1 << 30, 'a client with more unsent bytes than this for --conflate-after-ms is switched to conflated mode'),
  conflateAfterMs: int(250, 0, 600_000, 'how long a client stays above --conflate-above-bytes before it is conflated'),
  conflateIntervalMs: int(250, 10, 60_000, 'in conflated mode, at most one tick per symbol per this interval'),
  snapshotOnlyAfterMs: int(3000, 0, 600_000, 'a conflated client still above the limit this long gets snapshots only'),
  slowDisconnectAfterMs: int(10_000, 0, 3_600_000, 'a snapshot-only client still above the limit this long is closed (4001)'),
  recoverBelowBytes: int(16 * 1024, 0, 1 << 30, 'a degraded client below this many unsent bytes for --recover-after-ms moves back up the ladder'),
  recoverAfterMs: int(1000, 0, 600_000, 'how long a degraded client must stay drained before it moves up'),
  delayS: int(900, 0, 86_400, 'the delayed tier (subscribe with "delayed":true): every tick, each no sooner than this many seconds after its stream id\'s time; 0: no delayed tier'),
  delayBufferEntries: int(500_000, 0, 100_000_000, 'stream entries the delayed tier holds in memory (about 0.2 KB each, as parsed ticks); older ones it reads back from Redis by id range, so the stream must keep --delay-s of entries'),
  quietHeartbeatS: int(5, 0, 3600, 'name a connection\'s symbols that had no data frame for this many seconds in a heartbeat message, every this many seconds (0: off)'),
  maxConnectionsPerIp: int(1000, 1, 10_000_000, 'connections from one IP address; more are refused at upgrade with 429'),
  maxLifetimeS: int(0, 0, 31_536_000, 'close connections older than this with 4004 (0: no limit)'),
  authHs256Secret: str('', 'enable JWT auth with this HS256 secret (at least 32 bytes)'),
  authPublicKeyFile: str('', 'enable JWT auth with this RS256 or ES256 public key (SPKI PEM file)'),
  authIssuer: str('', 'required JWT issuer (iss), when set'),
  authAudience: str('', 'required JWT audience (aud), when set'),
  allowedOrigins: list([], 'Origin headers allowed at upgrade, comma-separated (empty: any)'),
};

const producerOptions = {
  ...common,
  symbols: int(100, 1, 100_000, 'number of symbols'),
  rate: int(10_000, 1, 10_000_000, 'ticks per second'),
  count: int(0, 0, Number.MAX_SAFE_INTEGER, 'stop after this many ticks (0: run until stopped)'),
  maxlen: int(100_000, 0, Number.MAX_SAFE_INTEGER, 'trim the stream to about this many entries (MAXLEN ~; 0: never)'),
  pipeline: int(256, 1, 100_000, 'XADDs sent per round trip'),
  seed: int(1, 0, 2 ** 31 - 1, 'random seed'),
};

const demoOptions = {
  ...gatewayOptions,
  ...producerOptions,
  redis: withEnv(str('', 'Redis URL; default: --local-redis if it answers PING, else a private redis-server',
    (v) => (v === '' ? undefined : redisUrl(v))), 'TICKGATE_REDIS_URL'),
  localRedis: withEnv(str(DEFAULT_REDIS, 'the local Redis the demo uses when --redis is not given and it answers', redisUrl),
    'TICKGATE_LOCAL_REDIS_URL'),
  stream: streams(['tickgate:demo'], 'stream key used by the demo producer and gateway'),
  host: str('127.0.0.1', 'listen address; the demo is reachable from this machine only unless told otherwise'),
  symbols: int(20, 1, 100_000, 'number of symbols'),
  rate: int(200, 1, 10_000_000, 'ticks per second'),
  delayS: int(15, 0, 86_400, 'the delayed tier\'s delay in seconds: short, so the board\'s delayed view fills within seconds of a fresh stream'),
};

export const COMMANDS = { gateway: gatewayOptions, producer: producerOptions, demo: demoOptions } as const;
export type Command = keyof typeof COMMANDS;

type Values<S> = { [K in keyof S]: S[K] extends Option<infer T> ? T : never };
export type GatewayConfig = Values<typeof gatewayOptions>;
export type ProducerConfig = Values<typeof producerOptions>;
export type DemoConfig = Values<typeof demoOptions>;

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
const envName = (name: string, opt: Option<unknown>) => opt.env ?? 'TICKGATE_' + name.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();

function parseValue(name: string, opt: Option<unknown>, raw: string, source: string): unknown {
  const where = `${source} (${name})`;
  let value: unknown;
  switch (opt.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.replace(/_/g, ''))) throw new ConfigError(`${where}: "${raw}" is not an integer`);
      const n = Number(raw.replace(/_/g, ''));
      if (n < (opt.min ?? -Infinity) || n > (opt.max ?? Infinity)) {
        throw new ConfigError(`${where}: ${n} is outside ${opt.min}..${opt.max}`);
      }
      value = n;
      break;
    }
    case 'bool':
      if (!['true', 'false', '1', '0', ''].includes(raw)) throw new ConfigError(`${where}: "${raw}" is not true or false`);
      value = raw === 'true' || raw === '1' || raw === '';
      break;
    case 'list':
      value = raw.split(',').map((s) => s.trim()).filter(Boolean);
      break;
    default:
      value = raw;
  }
  const problem = (opt.check as ((v: unknown) => string | undefined) | undefined)?.(value);
  if (problem) throw new ConfigError(`${where}: "${raw}" ${problem}`);
  return value;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function parseOptions<S extends Record<string, Option<any>>>(spec: S, argv: string[], env: NodeJS.ProcessEnv): Values<S> {
  const byFlag = new Map(Object.keys(spec).map((k) => ['--' + kebab(k), k]));
  const out: Record<string, unknown> = {};
  for (const [name, opt] of Object.entries(spec)) {
    const variable = envName(name, opt);
    const fromEnv = env[variable];
    out[name] = fromEnv === undefined ? opt.default : parseValue(name, opt, fromEnv, variable);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const name = byFlag.get(flag);
    if (name === undefined) throw new ConfigError(`unknown option ${flag}; see --help`);
    const opt = spec[name];
    let raw: string;
    if (eq > 0) raw = arg.slice(eq + 1);
    else if (opt.kind === 'bool') raw = 'true';
    else if (i + 1 < argv.length) raw = argv[++i];
    else throw new ConfigError(`${flag} needs a value`);
    out[name] = parseValue(name, opt, raw, flag);
  }
  return out as Values<S>;
}

export function gatewayConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return completed(checkedRedis(parseOptions(gatewayOptions, argv, env)));
}

type RedisLayout = Pick<GatewayConfig, 'redis' | 'redisCluster' | 'stream' | 'shards'>;

/** Checks the options that say where the streams are, together. */
function checkedRedis<C extends RedisLayout>(c: C): C {
  if (!c.redisCluster && c.redis.includes(',')) {
    throw new ConfigError('--redis: several URLs are seed nodes of a cluster; add --redis-cluster, or give one URL');
  }
  if (c.shards > 1 && c.stream.length > 1) {
    throw new ConfigError(`--shards ${c.shards} shards one stream: --stream must name one base stream, not ${c.stream.length}`);
  }
  return c;
}

/** The URLs of --redis: one, or a cluster's seeds. */
export function redisUrls(c: Pick<GatewayConfig, 'redis'>): string[] {
  return c.redis.split(',').map((u) => u.trim()).filter(Boolean);
}

/** Every stream key read (gateway) or written (producer): the streams named, or the shard keys of the one named. */
export function streamKeys(c: Pick<GatewayConfig, 'stream' | 'shards'>): string[] {
  return c.shards > 1 ? shardKeys(c.stream[0], c.shards) : c.stream;
}

/** Checks across options, then fills the names derived from the instance id. */
function completed<C extends GatewayConfig>(c: C): C {
  // The ladder starts acting above --conflate-above-bytes; a hard limit at or below that closes every slow client
  // (4001) before the ladder could conflate it.
  if (c.maxBackpressure <= c.conflateAboveBytes) {
    throw new ConfigError(`--max-backpressure (${c.maxBackpressure}) must be above --conflate-above-bytes (${c.conflateAboveBytes}), ` +
      'or slow clients are closed before the slow-consumer ladder can act');
  }
  // The drain is only the first step of the graceful stop that the deadline bounds: a deadline at or below it would
  // force every drain that waits for a slow client to its end into the exit with status 1.
  if (c.shutdownTimeoutMs <= c.drainTimeoutMs) {
    throw new ConfigError(`--shutdown-timeout-ms (${c.shutdownTimeoutMs}) must be above --drain-timeout-ms (${c.drainTimeoutMs}), ` +
      'or the hard deadline cuts a drain short and the exit is forced (status 1)');
  }
  return { ...c, group: c.group || `tickgate:${c.instance}`, consumer: c.consumer || c.instance };
}

/** uWS Apps serving clients: the main thread's one with `--workers 0`, else one per worker thread. */
export function serverThreads(c: Pick<GatewayConfig, 'workers'>): number {
  return Math.max(1, c.workers);
}

export function producerConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ProducerConfig {
  return checkedRedis(parseOptions(producerOptions, argv, env));
}

export function demoConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): DemoConfig {
  return completed(checkedRedis(parseOptions(demoOptions, argv, env)));
}

export interface OptionDoc {
  flag: string;
  env: string;
  default: string;
  help: string;
}

/** Every option of a command, as documented in --help and in the README's configuration table. */
export function optionDocs(command: Command): OptionDoc[] {
  const spec = COMMANDS[command] as Record<string, Option<unknown>>;
  return Object.entries(spec).map(([name, o]) => ({
    flag: '--' + kebab(name),
    env: envName(name, o),
    default: Array.isArray(o.default) ? o.default.join(',') : String(o.default),
    help: o.help,
  }));
}

export function helpText(command: Command): string {
  const rows = optionDocs(command).map((o) => `  ${o.flag} (${o.env})\n      ${o.help}${o.default === '' ? '' : ` [default: ${o.default}]`}`);
  return `tickgate ${command} [options]\n\n${rows.join('\n')}\n`;
}

