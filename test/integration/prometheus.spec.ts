/**
 * The Grafana dashboard against the real thing: a gateway with clients in every format, a producer, and Prometheus
 * scraping it with the example scrape config (grafana/prometheus.yml). Every panel query of the dashboard must be
 * accepted by Prometheus and return data, so no panel is empty or broken for a running gateway.
 */
import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { connect, TickgateClient } from '../../src/client/node';
import { PrivateRedis } from '../../src/demo/private-redis';
import { symbolNames } from '../../src/producer/random-walk';
import { CLI, GatewayProcess, metricValue, readyStatus, startGateway, waitUntil } from '../helpers/gateway';
import { killAll, track } from '../helpers/processes';
import {
  dashboardExpressions, GRAFANA_DIR, loadDashboard, PROMETHEUS, PrometheusServer, promQuery, startPrometheus, substituteVariables,
} from '../helpers/prometheus';
import { plainClient, PlainRedis, privateRedis, tickFields } from '../helpers/redis';
import { TestClient } from '../helpers/ws-client';

const STREAM = 'ticks';
/** A second stream: lag and pending are sampled per stream; it also carries an id beyond 2^53 ms, which every format encodes. */
const AUX_STREAM = 'ticks:aux';
const GROUP = 'tickgate:test';
const CONSUMER = 'test';
const SYMBOLS = symbolNames(20);
/** The symbol of large ticks for the client that stops reading. */
const BULK = 'BULK-TICKS';

/** The example scrape config, pointed at the test's gateway and scraping every second. */
function scrapeConfig(target: string): string {
  const example = readFileSync(join(GRAFANA_DIR, 'prometheus.yml'), 'utf8');
  const config = example.replace(/\blocalhost:9001\b/g, target).replace(/\b(scrape_interval|evaluation_interval): 5s\b/g, '$1: 1s')
    .replace(/\bscrape_timeout: \d+s\b/g, 'scrape_timeout: 1s');
  if (!config.includes(target) || /: 5s\b/.test(config)) throw new Error(`cannot retarget grafana/prometheus.yml:\n${example}`);
  return config;
}

describe('grafana dashboard queries against Prometheus scraping a live gateway', function () {
  this.timeout(90_000);
  let redis: PrivateRedis;
  let plain: PlainRedis;
  let gw: GatewayProcess;
  let prom: PrometheusServer;
  let producer: ChildProcess;
  /** When the gateway's /metrics showed every provoked event: a scrape after this shows them too. */
  let eventsCountedAt = 0;
  const sdkClients: TickgateClient[] = [];
  const testClients: TestClient[] = [];

  before(async () => {
    if (!existsSync(PROMETHEUS)) {
      throw new Error(`Prometheus not found at ${PROMETHEUS}: install it (Debian/Ubuntu: \`apt-get install prometheus\`) or set PROMETHEUS_PATH`);
    }
    redis = await privateRedis();
    plain = await plainClient(redis.url);

    // A poison entry already delivered 10 times to this gateway's consumer: it is dead-lettered when the reader starts.
    const poison = await plain.xAdd(STREAM, '*', tickFields(SYMBOLS[0], 0));
    await plain.sendCommand(['XGROUP', 'CREATE', STREAM, GROUP, '$', 'MKSTREAM']);
    await plain.sendCommand(['XCLAIM', STREAM, GROUP, CONSUMER, '0', poison, 'RETRYCOUNT', '10', 'FORCE', 'JUSTID']);

    gw = await startGateway(redis.url, ['--workers', '2', '--stream', `${STREAM},${AUX_STREAM}`, '--lag-sample-ms', '500',
      '--claim-idle-ms', '1000', '--claim-interval-ms', '500', '--max-backpressure', String(64 << 20)]);
    prom = await startPrometheus(scrapeConfig(`127.0.0.1:${gw.port}`));
    await waitUntil('gateway ready', async () => (await readyStatus(gw.http)) === 200, 20_000);

    // Clients in every format: a few symbols each, so every format has topics, frames and bytes.
    const formats = [['json', 'none'], ['json', 'lz4'], ['binary', 'none'], ['binary', 'lz4']] as const;
    for (const [format, compression] of formats) {
      for (let k = 0; k < 2; k++) {
        const c = connect(gw.url, { format, compression, reconnect: false });
        c.on('error', () => undefined);
        sdkClients.push(c);
        await c.subscribe(SYMBOLS.slice(k * 5, k * 5 + 10).concat(format === 'binary' ? ['AUX-POISON'] : []));
      }
    }
    const json = await TestClient.connect(gw.url);
    testClients.push(json);
    await json.request({ op: 'subscribe', symbols: SYMBOLS });

    producer = track(spawn(process.execPath, [CLI, 'producer', '--redis', redis.url, '--stream', STREAM, '--rate', '2000',
      '--symbols', String(SYMBOLS.length), '--log-level', 'warn'], { stdio: 'ignore' }));
    await waitUntil('ticks delivered to the JSON client', () => json.tickCount() > 0, 20_000);

    // Errors, so the error panels have series to show (a labelled counter has none until first incremented).
    expect(await json.request({ op: 'buy' })).to.include({ type: 'error', code: 'UNKNOWN_OP' });
    await plain.xAdd(STREAM, '*', { ...tickFields(SYMBOLS[0], 1), px: 'not-a-price' });
    await plain.sendCommand(['XADD', AUX_STREAM, '9007199254740993-0', ...Object.entries(tickFields('AUX-POISON', 0)).flat()]);
    const rejected = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${gw.url}?format=xml`);
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('error', () => undefined);
    });
    expect(rejected).to.equal(400);
    const closing = await TestClient.connect(gw.url);
    closing.close();
    await closing.closed;
    // A tick already published, handed to an idle "ghost" consumer: XAUTOCLAIM re-delivers it, and it is stale.
    const published = json.idsOf(SYMBOLS[1])[0] ?? json.idsOf(SYMBOLS[2])[0];
    expect(published, 'a published tick id').to.be.a('string');
    // Once acked (acks are batched: --ack-interval-ms), so the gateway's own ack cannot take the entry back from the ghost.
    await waitUntil('the published tick acked', async () =>
      ((await plain.sendCommand(['XPENDING', STREAM, GROUP, published, published, '1'])) as unknown[]).length === 0);
    await plain.sendCommand(['XCLAIM', STREAM, GROUP, 'ghost', '0', published, 'IDLE', '3600000', 'FORCE', 'JUSTID']);

    // A client that stops reading while a symbol carries large ticks: its send buffer grows past the limits, so the
    // backpressure and slow-consumer panels have something to show. Bulk ticks go to a symbol only it subscribes to.
    const stalled = await TestClient.connect(gw.url);
    testClients.push(stalled);
    await stalled.request({ op: 'subscribe', symbols: [BULK] });
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const bulkExtras = Object.fromEntries(Array.from({ length: 8 }, (_, k) => [`x${k}`, 'x'.repeat(256)]));
    let bulk = 0;
    await waitUntil('a stalled client backpressured', async () => {
      // ~2 MB/s: the socket's kernel buffers fill in a few seconds, and Redis holds little of it.
      await Promise.all(Array.from({ length: 100 }, () => plain.xAdd(STREAM, '*', { ...tickFields(BULK, bulk++), ...bulkExtras })));
      await new Promise((r) => setTimeout(r, 100));
      return (await metricValue(gw.http, 'tickgate_backpressured_sockets')) > 0 && (await metricValue(gw.http, 'tickgate_mode_changes_total')) > 0;
    }, 30_000);

    const provoked = ['tickgate_client_errors_total', 'tickgate_malformed_entries_total',
      'tickgate_upgrades_rejected_total', 'tickgate_connections_closed_total', 'tickgate_stale_entries_total', 'tickgate_dead_lettered_total'];
    let uncounted: string[] = [];
    await waitUntil('events counted by the gateway', async () => {
      uncounted = [];
      for (const name of provoked) if ((await metricValue(gw.http, name)) === 0) uncounted.push(name);
      return uncounted.length === 0;
    }, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}: still zero: ${uncounted.join(', ')}\n${gw.logs.slice(-20).join('\n')}`);
    });
    eventsCountedAt = Date.now();
  });

  after(async () => {
    for (const c of sdkClients) c.close();
    // terminate, not close: the stalled client reads nothing, so it would never see a close handshake finish.
    for (const c of testClients) c.ws.terminate();
    if (producer && producer.exitCode === null && producer.signalCode === null) {
      const exited = new Promise((r) => producer.once('exit', r));
      producer.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    await prom?.stop();
    await gw?.stop();
    await plain?.quit().catch(() => undefined);
    await redis?.stop();
    killAll();
  });

  it('scrapes the gateway with the example config, past the events above (up{job="tickgate"} == 1)', async () => {
    await waitUntil('Prometheus scraped the gateway after the events', async () => {
      const r = await promQuery(prom.url, 'timestamp(up{job="tickgate"} == 1)');
      return r.status === 'success' && Number(r.data?.result[0]?.value[1] ?? 0) * 1000 > eventsCountedAt;
    }, 20_000);
  });

  it('keeps the gateway\'s --instance as the instance label of every tickgate series (honor_labels), which the $instance variable lists', async () => {
    const count = async (expr: string) => Number((await promQuery(prom.url, expr)).data?.result[0]?.value[1] ?? 0);
    expect(await count('count({__name__=~"tickgate_.+", job="tickgate", instance="test"})')).to.be.greaterThan(50);
    expect(await count('count({__name__=~"tickgate_.+", job="tickgate", instance!="test"})')).to.equal(0);
    const dashboard = loadDashboard();
    const variable = dashboardExpressions(dashboard).find((q) => q.where === 'variable $instance')!;
    const listed = await promQuery(prom.url, substituteVariables(variable.expr, dashboard, { job: 'tickgate' }));
    expect(listed.data?.result.map((r) => r.metric.instance)).to.deep.equal(['test']);
  });

  it('answers every panel query of the dashboard with data', async () => {
    const dashboard = loadDashboard();
    const queries = dashboardExpressions(dashboard).map((q) => ({ ...q, expr: substituteVariables(q.expr, dashboard, { job: 'tickgate' }) }));
    expect(queries.length).to.be.greaterThan(20);
    // A rate needs two samples in its window of each series, and a counter's series appears at its first event: poll
    // until every query has data (typically 3–5 s of 1 s scrapes), then report whichever still has none.
    let failures: string[];
    const deadline = Date.now() + 30_000;
    for (;;) {
      failures = [];
      for (const { where, expr } of queries) {
        const r = await promQuery(prom.url, expr);
        if (r.status !== 'success') failures.push(`${where}: Prometheus refused it (${r.errorType}: ${r.error})\n    ${expr}`);
        else if ((r.data?.result.length ?? 0) === 0) failures.push(`${where}: no series\n    ${expr}`);
      }
      if (failures.length === 0 || Date.now() > deadline || failures.some((f) => f.includes('refused'))) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(failures, `dashboard queries failing:\n${failures.join('\n')}`).to.deep.equal([]);
  });

  it('shows the events it was given: non-zero errors, backpressure, lag sampled for both streams, fan-out above 1', async () => {
    const value = async (expr: string) => {
      const r = await promQuery(prom.url, expr);
      return Number(r.data?.result[0]?.value[1] ?? NaN);
    };
    for (const name of ['tickgate_client_errors_total', 'tickgate_malformed_entries_total',
      'tickgate_upgrades_rejected_total', 'tickgate_stale_entries_total', 'tickgate_dead_lettered_total']) {
      expect(await value(`sum(${name}{job="tickgate"})`), name).to.be.greaterThan(0);
    }
    expect(await value('max(max_over_time(tickgate_backpressured_sockets{job="tickgate"}[5m]))'), 'backpressured sockets').to.be.greaterThan(0);
    expect(await value('sum(tickgate_mode_changes_total{job="tickgate"})'), 'slow-consumer ladder steps').to.be.greaterThan(0);
    // No entry can make an encoder fail (the id beyond 2^53 ms included): the series exist, one per format, at 0.
    expect(await value('count(tickgate_encode_errors_total{job="tickgate"})')).to.equal(4);
    expect(await value('sum(tickgate_encode_errors_total{job="tickgate"})')).to.equal(0);
    expect(await value('count(tickgate_consumer_group_pending{job="tickgate"})'), 'pending sampled for both streams').to.equal(2);
    expect(await value('sum(tickgate_workers_alive{job="tickgate"})')).to.equal(2);
    expect(await value('sum(tickgate_connections_open{job="tickgate"})')).to.be.at.least(9);
    expect(await value('sum(rate(tickgate_ticks_delivered_total{job="tickgate"}[15s])) / sum(rate(tickgate_ticks_read_total{job="tickgate"}[15s]))'))
      .to.be.greaterThan(1);
  });
});
