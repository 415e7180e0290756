/**
 * The consumer-group stream reader (one per gateway process).
 *
 * Life of a read, as DESIGN.md sets it out:
 *   setup (after start and after every reconnect): retry XACKs that failed, ensure the group (MKSTREAM; BUSYGROUP
 *   is fine), move poison entries to the dead-letter stream, then re-read this consumer's own pending entries
 *   (cursor from `0`) and publish them; then loop on `XREADGROUP ... BLOCK ... >`.
 *   Every read is handed to the sink synchronously, then XACKed (on a second connection: the blocking read holds
 *   its own). Acks are not awaited before the next read, so an ack round trip never adds to latency; one that
 *   fails is kept and retried, and until then the entry stays pending, so nothing is lost, only re-delivered.
 *   A timer runs XAUTOCLAIM for entries left idle by other consumers of the group.
 *
 * Delivery into the gateway is at-least-once; the fan-out drops re-delivered ticks older than what it already
 * published, so clients see each symbol's ticks in stream order.
 */
import { performance } from 'node:perf_hooks';
import { Logger, onceEvery } from '../log';
import { Metrics } from '../metrics/metrics';
import { RawEntry } from './fanout';
import { backoffMs, Redis } from './redis';

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
}

export interface EntrySink {
  /** Publishes synchronously; a returned promise settles when the publish is complete, and only then is it acked. */
  publishEntries(stream: string, entries: readonly RawEntry[], redelivered: boolean): Promise<void> | undefined;
  /** The group of `stream` will deliver only entries after `id`. */
  startsAfter(stream: string, id: string): void;
}

type StreamReply = [string, RawEntry[]][] | null;

export class StreamReader {
  private stopping = false;
  private running: Promise<void> | undefined;
  private isReady = false;
  private setupDone = false;
  private groupsCreated = false;
  private claiming = false;
  private claimTimer: NodeJS.Timeout | undefined;
  private readonly failedAcks = new Map<string, string[]>();
  private readonly inflightAcks = new Set<Promise<unknown>>();
  private readonly logError = onceEvery(5000);

  constructor(
    private readonly reader: Redis,
    private readonly control: Redis,
    private readonly opts: ReaderOptions,
    private readonly sink: EntrySink,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly onReady: (ready: boolean) => void,
  ) {}

  /** True while connected, set up, and reading. */
  get ready(): boolean {
    return this.isReady;
  }

  start(): void {
    this.running = this.loop();
    this.claimTimer = setInterval(() => void this.claimIdle(), this.opts.claimIntervalMs);
  }

  /** Stops reading; what was read is published and acked before this resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.claimTimer);
    await this.running;
    while (this.inflightAcks.size > 0) await Promise.allSettled([...this.inflightAcks]);
    this.setReady(false);
  }

  private async loop(): Promise<void> {
    const { group, consumer, count, blockMs, streams } = this.opts;
    const read = ['XREADGROUP', 'GROUP', group, consumer, 'COUNT', String(count), 'BLOCK', String(blockMs),
      'STREAMS', ...streams, ...streams.map(() => '>')];
    let attempt = 0;
    while (!this.stopping) {
      if (!this.reader.isReady || !this.control.isReady) {
        // node-redis is (re)connecting on its own; commands now would only fail with "offline".
        this.setReady(false);
        this.setupDone = false;
        await sleep(backoffMs(attempt++, this.opts.backoffMaxMs));
        continue;
      }
      try {
        if (!this.setupDone) {
          await this.setup();
          this.setupDone = true;
        }
        this.setReady(true);
        const reply = (await this.reader.sendCommand(read)) as StreamReply;
        attempt = 0;
        if (reply) this.deliver(reply, false);
      } catch (err) {
        this.setReady(false);
        this.setupDone = false;
        if (this.stopping) break;
        const message = (err as Error).message;
        this.logError(message, (suppressed) => this.log.warn({ err: message, suppressed }, 'stream reader paused; retrying'));
        await sleep(backoffMs(attempt++, this.opts.backoffMaxMs));
      }
    }
  }

  private async setup(): Promise<void> {
    await this.retryFailedAcks();
    for (const stream of this.opts.streams) await this.ensureGroup(stream);
    this.groupsCreated = true;
    for (const stream of this.opts.streams) {
      await this.warnIfGroupShared(stream);
      await this.deadLetterPoison(stream);
      await this.recoverPending(stream);
      const groups = (await this.control.sendCommand(['XINFO', 'GROUPS', stream])) as unknown[][];
      const mine = groups.find((g) => g[g.indexOf('name') + 1] === this.opts.group);
      if (mine) this.sink.startsAfter(stream, String(mine[mine.indexOf('last-delivered-id') + 1]));
    }
  }

  /**
   * The group starts at `$` the first time (a new gateway serves live data; history is for resume), and at `0`
   * when it has to be created again while running: Redis lost it (a restart without persistence), and the stream
   * now holds only entries written since, every one of which clients must get.
   */
  private async ensureGroup(stream: string): Promise<void> {
    const start = this.groupsCreated ? '0' : '$';
    try {
      await this.control.sendCommand(['XGROUP', 'CREATE', stream, this.opts.group, start, 'MKSTREAM']);
      this.log.info({ stream, group: this.opts.group, start }, 'created consumer group');
    } catch (err) {
      if (!(err as Error).message.startsWith('BUSYGROUP')) throw err;
    }
  }

  /** A group shared by two gateways splits the stream between them: each would miss half the ticks. */
  private async warnIfGroupShared(stream: string): Promise<void> {
    const consumers = (await this.control.sendCommand(['XINFO', 'CONSUMERS', stream, this.opts.group])) as unknown[][];
    for (const flat of consumers) {
      const info = new Map<unknown, unknown>();
      for (let i = 0; i + 1 < flat.length; i += 2) info.set(flat[i], flat[i + 1]);
      if (info.get('name') !== this.opts.consumer && Number(info.get('idle')) < this.opts.claimIdleMs) {
        this.log.warn({ stream, group: this.opts.group, other: info.get('name') },
          'another consumer is active in this gateway\'s group: gateways sharing a group each see only part of the stream; give every instance its own --instance or --group');
      }
    }
  }

  /** Entries delivered more than maxDeliveries times go to `<stream><suffix>` and are acked: one poison entry must not block recovery forever. */
  private async deadLetterPoison(stream: string): Promise<void> {
    const { group, consumer, maxDeliveries, deadLetterSuffix } = this.opts;
    const pending = (await this.control.sendCommand(['XPENDING', stream, group, '-', '+', '1000', consumer])) as [string, string, number, number][];
    for (const [id, , , deliveries] of pending) {
      if (deliveries <= maxDeliveries) continue;
      const entry = (await this.control.sendCommand(['XRANGE', stream, id, id])) as RawEntry[];
      const fields = entry[0]?.[1] ?? [];
      await this.control.sendCommand(['XADD', stream + deadLetterSuffix, '*', 'origin_stream', stream, 'origin_id', id,
        'deliveries', String(deliveries), ...fields]);
      await this.control.sendCommand(['XACK', stream, group, id]);
      this.metrics.deadLettered.inc();
      this.log.warn({ stream, id, deliveries }, 'moved poison entry to the dead-letter stream');
    }
  }

  private async recoverPending(stream: string): Promise<void> {
    const { group, consumer, count } = this.opts;
    let cursor = '0';
    for (;;) {
      const reply = (await this.reader.sendCommand(['XREADGROUP', 'GROUP', group, consumer, 'COUNT', String(count),
        'STREAMS', stream, cursor])) as StreamReply;
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) return;
      this.log.info({ stream, entries: entries.length, from: entries[0][0] }, 'recovering pending entries');
      this.deliver([[stream, entries]], true);
      cursor = entries[entries.length - 1][0];
    }
  }

  private async claimIdle(): Promise<void> {
    if (!this.isReady || this.claiming) return;
    this.claiming = true;
    const { group, consumer, claimIdleMs, count } = this.opts;
    try {
      await this.retryFailedAcks();
      for (const stream of this.opts.streams) {
        let start = '0-0';
        // Bounded: a huge backlog is taken over a few ticks of the timer rather than in one long burst.
        for (let round = 0; round < 16; round++) {
          const [next, entries] = (await this.control.sendCommand(['XAUTOCLAIM', stream, group, consumer,
            String(claimIdleMs), start, 'COUNT', String(count)])) as [string, RawEntry[]];
          if (entries.length > 0) {
            this.log.info({ stream, entries: entries.length }, 'claimed entries idle at other consumers');
            this.deliver([[stream, entries]], true);
          }
          if (next === '0-0') break;
          start = next;
        }
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'XAUTOCLAIM failed; will retry');
    } finally {
      this.claiming = false;
    }
  }

  private deliver(reply: [string, RawEntry[]][], redelivered: boolean): void {
    const started = performance.now();
    for (const [stream, entries] of reply) {
      this.metrics.ticksRead.labels(stream).inc(entries.length);
      this.metrics.readBatchSize.observe(entries.length);
      const published = this.sink.publishEntries(stream, entries, redelivered);
      const ids = entries.map((e) => e[0]);
      // Not awaited: the next read goes out while the workers publish this one; the ack waits for them.
      if (published) this.track(published.then(() => this.ack(stream, ids)));
      else this.ack(stream, ids);
    }
    this.metrics.readToPublish.observe((performance.now() - started) / 1000);
  }

  private ack(stream: string, ids: string[]): void {
    this.track(this.control.sendCommand(['XACK', stream, this.opts.group, ...ids]).then(() => undefined, () => {
      const kept = this.failedAcks.get(stream);
      if (kept) kept.push(...ids);
      else this.failedAcks.set(stream, ids);
    }));
  }

  /** stop() waits for these: what was read is published and acked before the reader reports stopped. */
  private track(p: Promise<void>): void {
    this.inflightAcks.add(p);
    void p.finally(() => this.inflightAcks.delete(p));
  }

  private async retryFailedAcks(): Promise<void> {
    for (const [stream, ids] of this.failedAcks) {
      await this.control.sendCommand(['XACK', stream, this.opts.group, ...ids]);
      this.failedAcks.delete(stream);
    }
  }

  private setReady(ready: boolean): void {
    if (this.isReady === ready) return;
    this.isReady = ready;
    this.metrics.readerReady.set(ready ? 1 : 0);
    this.onReady(ready);
    this.log.info({ ready }, ready ? 'stream reader running' : 'stream reader not ready');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
