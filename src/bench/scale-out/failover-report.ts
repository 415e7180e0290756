/**
 * What the failover benchmark's clients report, and what it makes of it: the times from the kill to each client's
 * resume, the verdict (gaps, duplicates, refused resumes, ticks missing against the stream itself, clients not
 * resumed in time) and the Markdown row. Pure, so the verdict is tested on its own (test/unit/bench-failover.spec.ts).
 */

/** The ticks one client delivered of one symbol: enough to check them against the stream without holding them. */
export interface Chain {
  first: string;
  last: string;
  count: number;
}

/**
 * One SDK client across the failover. Times are Date.now() in the client's process, the clock the kill is timed on
 * (one host). A connection "after the kill" is any after the first: a drop before the kill is reported on its own.
 */
export interface ClientOutcome {
  symbols: string[];
  /** The gateway URL of its last connection (client.url): where it ended up. */
  url: string;
  /** Its first connection closed. */
  droppedAt?: number;
  /** The SDK started its second connection (its backoff over). */
  retriedAt?: number;
  /** Its second connection opened. */
  reopenedAt?: number;
  /** The gateway acknowledged the resubscription on a later connection: replay sent, live subscription in place. */
  answeredAt?: number;
  /** By then a data frame of every one of its symbols had arrived on later connections: resumed. */
  resumedAt?: number;
  /** The SDK's delay before its first reconnect (backoff with jitter). */
  backoffMs?: number;
  reconnects: number;
  gaps: number;
  /** client.duplicatesDropped: ticks at or below the held id that a gateway sent again. */
  duplicates: number;
  /** Symbols whose resume was refused (RESUME_UNAVAILABLE: a snapshot instead of the missed ticks). */
  unavailable: number;
  errors: number;
  /**
   * Per symbol that delivered a tick; the SDK delivers ids strictly increasing, so first, last and count say whether
   * every one came.
   */
  chains: Record<string, Chain>;
}

/** One client process's clients, and a few of each kind of event for the log of a run that went wrong. */
export interface GeneratorReport {
  clients: ClientOutcome[];
  samples: { gaps: string[]; unavailable: string[]; errors: string[] };
}

/** Per symbol, the position of each of its entries in the stream and its last entry: what the clients must match. */
export type StreamIndex = Map<string, { position: Map<string, number>; last: string }>;

export function streamIndex(entries: { id: string; sym: string }[]): StreamIndex {
  const index: StreamIndex = new Map();
  for (const { id, sym } of entries) {
    let s = index.get(sym);
    if (s === undefined) index.set(sym, (s = { position: new Map(), last: id }));
    s.position.set(id, s.position.size);
    s.last = id;
  }
  return index;
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles; undefined for no values. */
export function percentiles(values: number[]): Percentiles | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.max(0, Math.ceil(p * s.length) - 1)];
  return { p50: rank(0.5), p99: rank(0.99), max: s[s.length - 1] };
}

export interface FailoverSummary {
  clients: number;
  /** Resumed within the deadline. */
  resumed: number;
  notResumed: number;
  /** ms from the kill, over the clients resumed in time. */
  resumedMs?: Percentiles;
  answeredMs?: Percentiles;
  droppedMs?: Percentiles;
  retriedMs?: Percentiles;
  reopenedMs?: Percentiles;
  /** The SDK's first reconnect delays (not from the kill). */
  backoffMs?: Percentiles;
  /** ms from the kill until the last client resumed; undefined unless every one did in time. */
  allResumedMs?: number;
  gaps: number;
  duplicates: number;
  unavailable: number;
  droppedBeforeKill: number;
  /** Clients that needed more than one reconnect: a survivor refused or closed them. */
  reconnectedMoreThanOnce: number;
  /** Ticks of the stream, between a client's first and last of a symbol, that it never delivered. */
  missingTicks: number;
  /** Clients with a symbol whose delivered ticks are not exactly the stream's (missing ticks, or ids it never had). */
  inexactClients: number;
  /** Clients that had not delivered their symbols' last entries once the feed stopped. */
  notCaughtUp: number;
  /** Clients per gateway they ended on. */
  spread: Record<string, number>;
}

export function summarize(outcomes: ClientOutcome[], killAt: number, deadlineMs: number, stream: StreamIndex, label: (url: string) => string): FailoverSummary {
  const since = (t: number | undefined) => (t === undefined ? undefined : t - killAt);
  const times = (pick: (o: ClientOutcome) => number | undefined) =>
    outcomes.map((o) => since(pick(o))).filter((t): t is number => t !== undefined);
  const resumed = times((o) => o.resumedAt).filter((t) => t <= deadlineMs);
  const sum = (pick: (o: ClientOutcome) => number) => outcomes.reduce((n, o) => n + pick(o), 0);
  const spread: Record<string, number> = {};
  let missingTicks = 0;
  let inexactClients = 0;
  let notCaughtUp = 0;
  for (const o of outcomes) {
    spread[label(o.url)] = (spread[label(o.url)] ?? 0) + 1;
    const check = checkChains(o, stream);
    missingTicks += check.missing;
    if (!check.exact) inexactClients++;
    if (!check.caughtUp) notCaughtUp++;
  }
  const resumedMs = percentiles(resumed);
  return {
    clients: outcomes.length,
    resumed: resumed.length,
    notResumed: outcomes.length - resumed.length,
    resumedMs,
    answeredMs: percentiles(times((o) => o.answeredAt)),
    droppedMs: percentiles(times((o) => o.droppedAt)),
    retriedMs: percentiles(times((o) => o.retriedAt)),
    reopenedMs: percentiles(times((o) => o.reopenedAt)),
    backoffMs: percentiles(outcomes.map((o) => o.backoffMs).filter((t): t is number => t !== undefined)),
    allResumedMs: resumed.length === outcomes.length ? resumedMs?.max : undefined,
    gaps: sum((o) => o.gaps),
    duplicates: sum((o) => o.duplicates),
    unavailable: sum((o) => o.unavailable),
    droppedBeforeKill: outcomes.filter((o) => o.droppedAt !== undefined && o.droppedAt < killAt).length,
    reconnectedMoreThanOnce: outcomes.filter((o) => o.reconnects > 1).length,
    missingTicks,
    inexactClients,
    notCaughtUp,
    spread,
  };
}

/** One client's symbols against the stream: ticks missing between its first and last, and whether it reached the end. */
function checkChains(o: ClientOutcome, stream: StreamIndex): { missing: number; exact: boolean; caughtUp: boolean } {
  let missing = 0;
  let exact = true;
  let caughtUp = true;
  for (const sym of o.symbols) {
    const chain = o.chains[sym] as Chain | undefined;
    const s = stream.get(sym);
    if (chain === undefined) {
      caughtUp = false;
      continue;
    }
    const first = s?.position.get(chain.first);
    const last = s?.position.get(chain.last);
    if (s === undefined || first === undefined || last === undefined) {
      exact = false;
      caughtUp = false;
      continue;
    }
    const expected = last - first + 1;
    if (chain.count !== expected) exact = false;
    missing += Math.max(0, expected - chain.count);
    if (chain.last !== s.last) caughtUp = false;
  }
  return { missing, exact, caughtUp };
}

/** Everything that makes the run a failure, one line each; empty when the failover was clean. */
export function problems(s: FailoverSummary, deadlineMs: number): string[] {
  const out: string[] = [];
  if (s.notResumed > 0) out.push(`${s.notResumed} of ${s.clients} clients not resumed within ${deadlineMs / 1000} s of the kill`);
  if (s.gaps > 0) out.push(`${s.gaps} gap events`);
  if (s.duplicates > 0) out.push(`${s.duplicates} duplicate ticks dropped by the SDK`);
  if (s.unavailable > 0) out.push(`${s.unavailable} symbols answered RESUME_UNAVAILABLE (a snapshot instead of the missed ticks)`);
  if (s.inexactClients > 0) out.push(`${s.inexactClients} clients delivered other ticks than the stream holds (${s.missingTicks} missing)`);
  if (s.notCaughtUp > 0) out.push(`${s.notCaughtUp} clients never delivered their symbols' last entries after the feed stopped`);
  if (s.droppedBeforeKill > 0) out.push(`${s.droppedBeforeKill} clients lost their connection before the kill`);
  return out;
}

const ms = (v: number | undefined) => (v === undefined ? '–' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const trio = (p: Percentiles | undefined) => (p === undefined ? '–' : `${ms(p.p50)} / ${ms(p.p99)} / ${ms(p.max)}`);

export const MARKDOWN_HEADER =
  '| clients | client procs | gateways | ticks/s | resumed | kill → resumed p50 / p99 / max | all resumed | kill → resume acked p50 / p99 / max | ' +
  'gaps | duplicates | RESUME_UNAVAILABLE | ticks missing | spread | survivors\' CPU, failover window |\n' +
  '| ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |';

export interface RunRow {
  summary: FailoverSummary;
  generators: number;
  gateways: number;
  rate: number;
  /** Per survivor, % of one core from the kill until every client resumed (or the deadline). */
  survivorCpuPct: Record<string, number>;
}

export function markdownRow(r: RunRow): string {
  const s = r.summary;
  const spread = Object.entries(s.spread).sort().map(([g, n]) => `${g} ${n}`).join(', ');
  const cpu = Object.entries(r.survivorCpuPct).map(([g, p]) => `${g} ${Math.round(p)}%`).join(', ');
  return `| ${s.clients} | ${r.generators} | ${r.gateways} | ${r.rate} | ${s.resumed} | ${trio(s.resumedMs)} | ${s.allResumedMs === undefined ? 'no' : ms(s.allResumedMs)} | ` +
    `${trio(s.answeredMs)} | ${s.gaps} | ${s.duplicates} | ${s.unavailable} | ${s.missingTicks} | ${spread} | ${cpu} |`;
}
