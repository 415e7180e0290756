/**
 * The consumer-group stream reader (one per gateway process).
 *
 * Life of a read:
 *   setup (after start and after every reconnect): ensure the group (MKSTREAM; BUSYGROUP is fine), send the acks
 *   waiting or kept after a failure, move poison entries to the dead-letter stream, re-read this consumer's own
 *   pending entries (cursor from `0`) and publish them, and check for entries removed unread since the group's
 *   last-delivered id; then loop on `XREADGROUP ... BLOCK ... >`, each read pipelined with one XINFO STREAM per
 *   stream (as a script returning only the fields loss detection reads: replies.ts; same connection, so Redis
 *   answers both in one reply: no extra round trip) to detect entries removed
 *   before they were read (src/ingest/stream-loss.ts), which are announced before the read is published.
 *   Every read is handed to the sink synchronously; once the sink has published it, its ids go to the ack batcher
 *   (src/ingest/ack-batcher.ts: one XACK per stream per --ack-interval-ms, or at --ack-batch ids, on a second
 *   connection: the blocking read holds its own). Acks are not awaited before the next read, so an ack round trip
 *   never adds to latency; one that fails is kept and retried, and until then the entry stays pending, so nothing
 *   is lost, only re-delivered.
 *   A timer runs XAUTOCLAIM for entries left idle by other consumers of the group.
 *   Every command has a deadline (--redis-command-timeout-ms; the blocking read: --read-block-ms plus it): a Redis
 *   that stops answering makes the reader not ready and its connections are opened again.
 *
 * Delivery into the gateway is at-least-once; the fan-out never publishes a tick at or below one it already
 * published for the symbol, so clients see each symbol's ticks in stream order.
 */
import { performance } from 'node:perf_hooks';
import { Logger, onceEvery } from '../log';
import { Metrics } from '../metrics/metrics';
import { LOSS_REASONS, StreamLoss } from '../protocol/gap';
import { compareStreamIds } from '../wire/tick';
import { AckBatcher } from './ack-batcher';
import { RawEntry } from './fanout';
import { backoffMs, timedCommand, withDeadline } from '../redis/connection';
import { isRedirect } from '../redis/cluster';
import type { Endpoint } from '../redis/endpoints';
import { checkLoss, initialPosition, LossCheck, ReadPosition } from './stream-loss';
import { findGroup, STREAM_INFO_SCRIPT, parseAutoClaim, parseConsumers, parsePending, parseStreamInfo } from './replies';

export interface ReaderOptions {
  streams: string[];
  group: string;
  consumer: string;
  count: number;
  blockMs: number;
  claimIdleMs: number;
  claimIntervalMs: number;
  maxDeliveries: number;
  deadLetterSuffix: string;
  backoffMaxMs: number;
  commandTimeoutMs: number;
  ackIntervalMs: number;
  ackBatch: number;
}

export interface EntrySink {
  /** Publishes synchronously; a returned promise settles when the publish is complete, and only then is it acked. */
  publishEntries(stream: string, entries: readonly RawEntry[]): Promise<void> | undefined;
  /** The group of `stream` will deliver only entries after `id`. */
  startsAfter(stream: string, id: string): void;
  /** The last id of `stream` read and published (or skipped); '' before the first setup. */
  frontier(stream: string): string;
  /** Entries of a stream were removed before they were read. */
  announceLoss(loss: StreamLoss): void;
}

type StreamReply = [string, RawEntry[]][] | null;

/** Failed connection checks (about 350 ms of backoff) before the reader asks where its streams live now. */
const RELOCATE_AFTER_ATTEMPTS = 3;

/** The longest caughtUp() waits for the read it brought forward (a healthy one takes a round trip). */
const CAUGHT_UP_WAIT_MAX_MS = 100;

export class StreamReader {
  private stopping = false;
  private running: Promise<void> | undefined;
  private isReady = false;
  private setupDone = false;
  /** The XAUTOCLAIM sweep under way, if any: stop() waits for what it delivers. */
  private claiming: Promise<void> | undefined;
  private claimTimer: NodeJS.Timeout | undefined;
  private readonly acks: AckBatcher;
  /** Reads handed to the sink whose publish has not completed: their ids reach the batcher when it does. */
  private readonly publishing = new Set<Promise<void>>();
  private readonly logError = onceEvery(5000);
  private readonly logLoss = onceEvery(10_000);
  /** Per stream: what loss detection knows of it (src/ingest/stream-loss.ts). */
  private readonly positions = new Map<string, ReadPosition>();
  /** Per stream: the group's last-delivered id, as this reader moved it. */
  private readonly lastDelivered = new Map<string, string>();
  /** While the pacer has the reader waiting: ends the wait now. */
  private wakeUp: (() => void) | undefined;
  /** caughtUp() calls waiting for the read their wake-up brought forward. */
  private readonly caughtUpWaiters: (() => void)[] = [];
  /** Streams whose group read counter Redis got wrong (entries removed unread): reset before the next read. */
  private readonly staleReadCounters = new Set<string>();

  constructor(
    /** Where the streams are read; in a cluster it moves with their slot (src/redis/endpoints.ts). */
    private readonly endpoint: Endpoint,
    private readonly opts: ReaderOptions,
    private readonly sink: EntrySink,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly onReady: (ready: boolean) => void,
    /** When to send the next read (src/ingest/read-pacer.ts). */
    private readonly pacer: { delayBeforeRead(backlog: boolean): number },
  ) {
    this.acks = new AckBatcher((args) => this.ctl(args), { group: opts.group, intervalMs: opts.ackIntervalMs, maxBatch: opts.ackBatch });
    // Series at 0 from the start: a loss is then an increase() that alerts and dashboards see from its first event.
    for (const stream of opts.streams) {
      metrics.groupRecreations.inc({ stream }, 0);
      metrics.entriesLost.inc({ stream }, 0);
      for (const reason of LOSS_REASONS) metrics.streamLosses.inc({ stream, reason }, 0);
    }
  }

  /**
   * Resolves once what Redis holds now has been read and published, for a snapshot or resume that must not be older
   * than its request. At once while reads run back to back (a read in flight returns what Redis holds); while the
   * pacer has the reader waiting, the wait ends now and this resolves after that read.
   */
  caughtUp(): Promise<void> {
    const wake = this.wakeUp;
    if (wake === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      // Bounded: a Redis that stopped answering holds the read until its deadline, and the catch-up has its own
      // (--resume-timeout-ms), which must not start seconds late.
      const timer = setTimeout(resolve, CAUGHT_UP_WAIT_MAX_MS);
      this.caughtUpWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      wake();
    });
  }

  /** True while connected, set up, and reading. */
  get ready(): boolean {
    return this.isReady;
  }

  start(): void {
    this.running = this.loop();
    this.claimTimer = setInterval(() => {
      if (!this.isReady || this.claiming) return;
      this.claiming = this.claimIdle().finally(() => {
        this.claiming = undefined;
      });
    }, this.opts.claimIntervalMs);
  }

  /** Stops reading; what was read is published and acked before this resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.claimTimer);
    await this.running;
    await this.claiming;
    while (this.publishing.size > 0) await Promise.allSettled([...this.publishing]);
    const unacked = await this.acks.stop();
    if (unacked > 0) this.log.warn({ unacked }, 'published entries left unacked at shutdown: they stay pending and are re-read at the next start');
    this.setReady(false);
  }

  private async loop(): Promise<void> {
    const { group, consumer, count, blockMs, streams, commandTimeoutMs } = this.opts;
    const read = ['XREADGROUP', 'GROUP', group, consumer, 'COUNT', String(count), 'BLOCK', String(blockMs),
      'STREAMS', ...streams, ...streams.map(() => '>')];
    let infos: string[][] = [];
    let attempt = 0;
    /** The last read came back full: Redis holds more, so the next read goes now whatever the pacer would wait. */
    let backlog = false;
    while (!this.stopping) {
      const { reader, control } = this.endpoint;
      if (!reader.isReady || !control.isReady) {
        // node-redis is (re)connecting on its own; commands now would only fail with "offline". A node that stays
        // away may have been replaced (a cluster failover): after a few tries, look where the streams live now.
        this.setReady(false);
        this.setupDone = false;
        await sleep(backoffMs(attempt++, this.opts.backoffMaxMs));
        if (attempt >= RELOCATE_AFTER_ATTEMPTS) await this.relocate();
        continue;
      }
      try {
        if (!this.setupDone) {
          await this.setup();
          // Loaded at every setup: a Redis restarted (or failed over) has an empty script cache.
          const sha = await this.ctl<string>(['SCRIPT', 'LOAD', STREAM_INFO_SCRIPT]);
          infos = streams.map((stream) => ['EVALSHA', sha, '1', stream]);
          this.setupDone = true;
        }
        await this.resetReadCounters();
        this.setReady(true);
        const wait = this.pacer.delayBeforeRead(backlog);
        if (wait > 0) await this.pace(wait);
        // Sent in the same tick, so node-redis writes them together and Redis runs the XINFOs right after the read.
        // A script cache flushed since setup fails the read with NOSCRIPT: its entries are pending, and the setup
        // that follows loads the script and re-reads them.
        const [reply, ...info] = await withDeadline(reader, Promise.all([reader.sendCommand(read) as Promise<StreamReply>,
          ...infos.map((args) => reader.sendCommand(args) as Promise<unknown[]>)]), 'XREADGROUP', blockMs + commandTimeoutMs, this.log);
        attempt = 0;
        backlog = reply !== null && reply.some(([, entries]) => entries.length >= count);
        if (reply) {
          for (const [stream, entries] of reply) {
            this.lastDelivered.set(stream, entries[entries.length - 1][0]);
            this.reportLoss(stream, checkLoss(this.positionOf(stream), entries.map((e) => e[0]), parseStreamInfo(info[streams.indexOf(stream)])));
          }
          this.deliver(reply);
        }
      } catch (err) {
        this.setReady(false);
        this.setupDone = false;
        if (this.stopping) break;
        const message = (err as Error).message;
        this.logError(message, (suppressed) => this.log.warn({ err: message, suppressed }, 'stream reader paused; retrying'));
        // The slot moved or its node became a replica: go there now rather than after a backoff.
        if (isRedirect(err) && await this.relocate()) continue;
        await sleep(backoffMs(attempt++, this.opts.backoffMaxMs));
      } finally {
        // A failed read releases them too: they wait for what the reader can do, not for Redis to come back.
        for (const release of this.caughtUpWaiters.splice(0)) release();
      }
    }
  }

  /** Moves to where the streams live now (a cluster's slot map); false when nothing moved or discovery failed. */
  private async relocate(): Promise<boolean> {
    try {
      return await this.endpoint.relocate();
    } catch (err) {
      const message = (err as Error).message;
      this.logError(message, (suppressed) => this.log.warn({ err: message, suppressed }, 'cannot discover the cluster\'s slot map; retrying'));
      return false;
    }
  }

  /** The pacer's wait before a read, which caughtUp() can end early. */
  private pace(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private async setup(): Promise<void> {
    // Groups first: an ack kept for a group that was since destroyed is then harmless (XACK of an unknown id is 0).
    for (const stream of this.opts.streams) await this.ensureGroup(stream);
    // Before pending recovery: an entry already published is not re-read, nor counted as one more delivery.
    await this.acks.flush();
    for (const stream of this.opts.streams) {
      await this.warnIfGroupShared(stream);
      await this.deadLetterPoison(stream);
      await this.recoverPending(stream);
      await this.checkSinceLastDelivered(stream);
    }
  }

  /**
   * The group starts at `$` the first time (a new gateway serves live data; history is for resume). When it has to
   * be created again while running (XGROUP DESTROY, a failover to a replica without it, a restart of Redis without
   * persistence), it starts after what this process has read: never at `0`, which would replay the retained stream
   * as live. Entries removed in between are found by the loss check that follows in setup.
   */
  private async ensureGroup(stream: string): Promise<void> {
    const frontier = this.sink.frontier(stream);
    const start = frontier === '' ? '$' : frontier;
    try {
      await this.ctl(['XGROUP', 'CREATE', stream, this.opts.group, start, 'MKSTREAM']);
    } catch (err) {
      if (!(err as Error).message.startsWith('BUSYGROUP')) throw err;
      return;
    }
    if (frontier === '') {
      this.log.info({ stream, group: this.opts.group, start }, 'created consumer group');
      return;
    }
    this.metrics.groupRecreations.inc({ stream });
    this.log.warn({ stream, group: this.opts.group, start },
      'consumer group was gone (XGROUP DESTROY, a failover, or Redis restarted empty): recreated after the last entry this gateway read');
  }

  /**
   * After (re)connecting: were entries after the group's last-delivered id (or after what this process last read,
   * if older: a read whose reply was lost is pending, and pending entries can be trimmed too) removed unread?
   * Stream and group are read in one MULTI so that both describe the same moment.
   */
  private async checkSinceLastDelivered(stream: string): Promise<void> {
    const control = this.endpoint.control;
    const [streamReply, groups] = (await withDeadline(control, control.multi()
      .addCommand(['XINFO', 'STREAM', stream]).addCommand(['XINFO', 'GROUPS', stream]).exec(), 'MULTI', this.opts.commandTimeoutMs, this.log)) as [unknown[], unknown[][]];
    const mine = findGroup(groups, this.opts.group);
    if (!mine) throw new Error(`consumer group ${this.opts.group} of ${stream} vanished during setup`);
    const lastDelivered = mine.lastDeliveredId;
    this.lastDelivered.set(stream, lastDelivered);
    this.sink.startsAfter(stream, lastDelivered);
    const known = this.positions.get(stream) ?? initialPosition(lastDelivered);
    const position = compareStreamIds(lastDelivered, known.after) > 0 ? known
      : { ...known, after: lastDelivered, addedThroughAfter: known.after === lastDelivered ? known.addedThroughAfter : undefined };
    this.reportLoss(stream, checkLoss(position, [], parseStreamInfo(streamReply)));
  }

  private positionOf(stream: string): ReadPosition {
    const known = this.positions.get(stream);
    if (known === undefined) throw new Error(`stream ${stream} read before its setup`);
    return known;
  }

  private reportLoss(stream: string, check: LossCheck): void {
    this.positions.set(stream, check.next);
    if (check.loss === undefined) return;
    const loss: StreamLoss = { stream, ...check.loss };
    this.metrics.streamLosses.inc({ stream, reason: loss.reason });
    if (check.lost !== undefined) this.metrics.entriesLost.inc({ stream }, check.lost);
    this.logLoss(`${stream}:${loss.reason}`, (suppressed) => this.log.warn({ ...loss, lost: check.lost ?? 'unknown', suppressed },
      'entries were removed from the stream before the gateway read them: announcing a gap to every client'));
    this.sink.announceLoss(loss);
    this.staleReadCounters.add(stream);
  }

  /**
   * Redis 7.0 keeps counting the group's entries-read as if the removed entries had been read, so its lag stays
   * above 0 forever. XGROUP SETID to the same last-delivered id without ENTRIESREAD makes Redis derive the counter
   * again (exactly, once the group reaches the stream's last entry). On the reader connection, between reads, so
   * the id set is the group's current one.
   */
  private async resetReadCounters(): Promise<void> {
    for (const stream of this.staleReadCounters) {
      await timedCommand(this.endpoint.reader, ['XGROUP', 'SETID', stream, this.opts.group, this.lastDelivered.get(stream)!],
        this.opts.commandTimeoutMs, this.log);
      this.staleReadCounters.delete(stream);
    }
  }

  /** A group shared by two gateways splits the stream between them: each would miss half the ticks. */
  private async warnIfGroupShared(stream: string): Promise<void> {
    const consumers = parseConsumers(await this.ctl<unknown[][]>(['XINFO', 'CONSUMERS', stream, this.opts.group]));
    for (const { name, idleMs } of consumers) {
      if (name !== this.opts.consumer && idleMs < this.opts.claimIdleMs) {
        this.log.warn({ stream, group: this.opts.group, other: name },
          'another consumer is active in this gateway\'s group: gateways sharing a group each see only part of the stream; give every instance its own --instance or --group');
      }
    }
  }

  /** Entries delivered more than maxDeliveries times go to `<stream><suffix>` and are acked: one poison entry must not block recovery forever. */
  private async deadLetterPoison(stream: string): Promise<void> {
    const { group, consumer, maxDeliveries, deadLetterSuffix } = this.opts;
    const pending = parsePending(await this.ctl<unknown[][]>(['XPENDING', stream, group, '-', '+', '1000', consumer]));
    for (const { id, deliveries } of pending) {
      if (deliveries <= maxDeliveries) continue;
      const entry = (await this.ctl(['XRANGE', stream, id, id])) as RawEntry[];
      const fields = entry[0]?.[1] ?? [];
      await this.ctl(['XADD', stream + deadLetterSuffix, '*', 'origin_stream', stream, 'origin_id', id,
        'deliveries', String(deliveries), ...fields]);
      await this.ctl(['XACK', stream, group, id]);
      this.metrics.deadLettered.inc();
      this.log.warn({ stream, id, deliveries }, 'moved poison entry to the dead-letter stream');
    }
  }

  private async recoverPending(stream: string): Promise<void> {
    const { group, consumer, count } = this.opts;
    let cursor = '0';
    for (;;) {
      const reply = await timedCommand<StreamReply>(this.endpoint.reader, ['XREADGROUP', 'GROUP', group, consumer, 'COUNT', String(count),
        'STREAMS', stream, cursor], this.opts.commandTimeoutMs, this.log);
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) return;
      this.log.info({ stream, entries: entries.length, from: entries[0][0] }, 'recovering pending entries');
      this.deliver([[stream, entries]]);
      cursor = entries[entries.length - 1][0];
    }
  }

  private async claimIdle(): Promise<void> {
    const { group, consumer, claimIdleMs, count } = this.opts;
    try {
      for (const stream of this.opts.streams) {
        let start = '0-0';
        // Bounded: a huge backlog is taken over a few ticks of the timer rather than in one long burst.
        for (let round = 0; round < 16; round++) {
          const { next, entries } = parseAutoClaim(await this.ctl<unknown[]>(['XAUTOCLAIM', stream, group, consumer,
            String(claimIdleMs), start, 'COUNT', String(count)]));
          if (entries.length > 0) {
            this.log.info({ stream, entries: entries.length }, 'claimed entries idle at other consumers');
            this.deliver([[stream, entries]]);
          }
          if (next === '0-0') break;
          start = next;
        }
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'XAUTOCLAIM failed; will retry');
    }
  }

  private deliver(reply: [string, RawEntry[]][]): void {
    const started = performance.now();
    for (const [stream, entries] of reply) {
      this.metrics.ticksRead.labels(stream).inc(entries.length);
      this.metrics.readBatchSize.observe(entries.length);
      const published = this.sink.publishEntries(stream, entries);
      const ids = entries.map((e) => e[0]);
      // Not awaited: the next read goes out while the workers publish this one; the ack waits for them.
      if (published) this.trackPublish(published.then(() => this.acks.add(stream, ids)));
      else this.acks.add(stream, ids);
    }
    this.metrics.readToPublish.observe((performance.now() - started) / 1000);
  }

  /** stop() waits for these, then flushes the batcher: what was read is published and acked before it resolves. */
  private trackPublish(p: Promise<void>): void {
    this.publishing.add(p);
    void p.finally(() => this.publishing.delete(p));
  }

  private setReady(ready: boolean): void {
    if (this.isReady === ready) return;
    this.isReady = ready;
    this.metrics.readerReady.set(ready ? 1 : 0);
    this.onReady(ready);
    this.log.info({ ready, streams: this.opts.streams.length === 1 ? this.opts.streams[0] : this.opts.streams.length }, ready ? 'stream reader running' : 'stream reader not ready');
  }

  /** A command on the control connection, with the command deadline. */
  private ctl<T = unknown>(args: string[]): Promise<T> {
    return timedCommand<T>(this.endpoint.control, args, this.opts.commandTimeoutMs, this.log);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
