/** Reads tickgate's /metrics (Prometheus text): one metric summed over all its label sets. */
export async function scrapeMetrics(http: string): Promise<string> {
  return (await fetch(`${http}/metrics`)).text();
}

/** The sum over the label sets of `name` that carry every label of `labels` (every series also has `instance`). */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + ' ') && !line.startsWith(name + '{')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export interface GatewayCounters {
  read: number;
  delivered: number;
  frames: number;
  bytes: number;
  /** Slow-consumer ladder steps (conflated, snapshot-only, back to full) and closes: a step's loss explained. */
  ladderSteps: number;
  conflatedFrames: number;
  slowConsumerCloses: number;
}

export async function gatewayCounters(http: string): Promise<GatewayCounters> {
  const text = await scrapeMetrics(http);
  return {
    read: metricSum(text, 'tickgate_ticks_read_total'),
    delivered: metricSum(text, 'tickgate_ticks_delivered_total'),
    frames: metricSum(text, 'tickgate_frames_published_total'),
    bytes: metricSum(text, 'tickgate_published_bytes_total'),
    ladderSteps: metricSum(text, 'tickgate_mode_changes_total'),
    conflatedFrames: metricSum(text, 'tickgate_conflated_frames_total'),
    slowConsumerCloses: metricSum(text, 'tickgate_slow_consumer_disconnects_total'),
  };
}

export function counterDelta(a: GatewayCounters, b: GatewayCounters): GatewayCounters {
  const d = {} as GatewayCounters;
  for (const k of Object.keys(a) as (keyof GatewayCounters)[]) d[k] = b[k] - a[k];
  return d;
}
