/**
 * The benchmark workload: N symbols ticking round-robin, C clients each subscribed to S consecutive symbols
 * (wrapping), so that every symbol has the same number of subscribers whenever C·S is a multiple of N. Expected
 * deliveries follow exactly from the producer's round-robin, which is how loss is measured.
 */
import { symbolNames } from '../producer/random-walk';
import { FormatName } from '../wire/formats';

export interface Workload {
  symbols: number;
  clients: number;
  symbolsPerClient: number;
  /** Formats assigned to clients round-robin. */
  formats: FormatName[];
}

export function symbolsOfClient(w: Workload, client: number, names: string[] = symbolNames(w.symbols)): string[] {
  return Array.from({ length: Math.min(w.symbolsPerClient, w.symbols) }, (_, j) => names[(client * w.symbolsPerClient + j) % w.symbols]);
}

export function formatOfClient(w: Workload, client: number): FormatName {
  return w.formats[client % w.formats.length];
}

/** Subscribers of symbol index `s`. */
function subscriberCounts(w: Workload): number[] {
  const counts = new Array<number>(w.symbols).fill(0);
  const per = Math.min(w.symbolsPerClient, w.symbols);
  for (let c = 0; c < w.clients; c++) for (let j = 0; j < per; j++) counts[(c * w.symbolsPerClient + j) % w.symbols]++;
  return counts;
}

/** Ticks all clients together must receive when the producer sent `sent` ticks, starting at symbol 0. */
export function expectedDeliveries(w: Workload, sent: number): number {
  const subs = subscriberCounts(w);
  const full = Math.floor(sent / w.symbols);
  const rest = sent % w.symbols;
  return subs.reduce((sum, n, s) => sum + n * (full + (s < rest ? 1 : 0)), 0);
}

/** Deliveries per produced tick, on average: turns an offered tick rate into an offered delivery rate. */
export function fanoutFactor(w: Workload): number {
  return subscriberCounts(w).reduce((a, b) => a + b, 0) / w.symbols;
}

/** Produced ticks/s that offer `deliveries` deliveries/s to the workload's clients. */
export function rateForLoad(w: Workload, deliveries: number): number {
  return Math.max(1, Math.round(deliveries / fanoutFactor(w)));
}
