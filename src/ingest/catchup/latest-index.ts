/**
 * The latest tick of every symbol the stream held before this process started, read once in the background: a
 * snapshot of a symbol not published since startup is answered from here, never by scanning the stream per request.
 *
 * Filled from each stream's frontier at startup backwards (XREVRANGE pages, paced by the process-wide ScanRate), up
 * to --resume-scan-limit entries per stream. Only the first tick seen of each symbol is kept. It is never updated:
 * a symbol published since startup has its latest tick in the in-memory history, which callers ask first.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '../../log';
import { compareStreamIds, Tick } from '../../wire/tick';
import type { RawEntry } from '../fanout';
import { parseEntry } from '../parse-entry';
import type { ControlFor } from '../../redis/endpoints';
import { ScanRate } from './scan-rate';
import { CatchupCancelled, symOf } from './scan';

export interface LatestIndexOptions {
  streams: string[];
  scanLimit: number;
  pageSize: number;
}

const RETRY_MS = 1000;

export class LatestIndex {
  private readonly latest = new Map<string, Tick>();
  private filled = false;
  private stopped = false;
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly redis: ControlFor,
    private readonly frontier: (stream: string) => string,
    private readonly rate: ScanRate,
    private readonly opts: LatestIndexOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    void this.fill();
  }

  stop(): void {
    this.stopped = true;
  }

  get(sym: string): Tick | undefined {
    return this.latest.get(sym);
  }

  get ready(): boolean {
    return this.filled;
  }

  /** Resolves once the index is filled or at `deadline` (ms epoch), whichever is first; rejects when `signal` aborts. */
  whenReady(deadline: number, signal?: AbortSignal): Promise<void> {
    if (this.filled) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
      this.waiting.add(done);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        reject(new CatchupCancelled());
      }, { once: true });
    });
  }

  private async fill(): Promise<void> {
    const started = Date.now();
    let entries = 0;
    for (const stream of this.opts.streams) {
      let end: string;
      while ((end = this.frontier(stream)) === '') {
        if (this.stopped) return;
        await sleep(50, undefined, { ref: false });
      }
      entries += await this.fillFrom(stream, end);
    }
    if (this.stopped) return;
    this.filled = true;
    for (const done of [...this.waiting]) done();
    this.log.info({ symbols: this.latest.size, entries, ms: Date.now() - started }, 'latest-tick index filled');
  }

  /** Reads `stream` backwards from `end`; returns the entries read. */
  private async fillFrom(stream: string, end: string): Promise<number> {
    let cursor = end;
    let scanned = 0;
    while (scanned < this.opts.scanLimit && !this.stopped) {
      const count = Math.min(this.opts.pageSize, this.opts.scanLimit - scanned);
      await this.rate.take(count);
      let page: RawEntry[];
      try {
        page = (await this.redis(stream).sendCommand(['XREVRANGE', stream, cursor, '-', 'COUNT', String(count)])) as RawEntry[];
      } catch (err) {
        this.log.warn({ stream, err: (err as Error).message }, 'latest-tick index: cannot read the stream; retrying');
        await sleep(RETRY_MS, undefined, { ref: false });
        continue;
      }
      for (const [id, fields] of page) {
        const known = this.latest.get(symOf(fields) ?? '');
        if (known !== undefined && compareStreamIds(known.id, id) >= 0) continue;
        const parsed = parseEntry(id, fields);
        if (typeof parsed !== 'string') this.latest.set(parsed.sym, parsed.tick);
      }
      scanned += page.length;
      if (page.length < count) break;
      cursor = '(' + page[page.length - 1][0];
    }
    return scanned;
  }
}
