/**
 * The process-wide budget of catch-up reads: stream entries per second, shared by every resume scan and the
 * latest-tick index. Reading and parsing entries is main-thread CPU that live ingest needs too; this caps its share
 * whatever the number of clients asking.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class ScanRate {
  private available: number;
  private at = Date.now();

  /** `perSecond` entries per second, with a burst of one second's worth. */
  constructor(private readonly perSecond: number) {
    this.available = perSecond;
  }

  /** Waits until `entries` may be read, then takes them. */
  async take(entries: number): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.available = Math.min(this.perSecond, this.available + ((now - this.at) * this.perSecond) / 1000);
      this.at = now;
      if (this.available >= entries) {
        this.available -= entries;
        return;
      }
      await sleep(Math.ceil(((entries - this.available) * 1000) / this.perSecond));
    }
  }
}
