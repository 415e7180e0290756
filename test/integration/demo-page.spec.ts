import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PrivateRedis } from '../../src/demo/private-redis';
import { symbolNames } from '../../src/producer/random-walk';
import { FLAG_BINARY, FLAG_LZ4, FRAME_VERSION, KIND_MASK, KIND_SHIFT } from '../../src/wire/frame';
import { FRAME_KINDS } from '../../src/wire/tick';
import { launchChromium } from '../helpers/browser';
import { CLI, GatewayProcess, metricValue, repoRoot, startGateway, waitUntil } from '../helpers/gateway';
import { killAll, track } from '../helpers/processes';
import { privateRedis } from '../helpers/redis';

const SYMBOLS = symbolNames(20);
const SCREENSHOT = join(repoRoot(), 'test-artifacts', 'demo-page.png');

/** One WebSocket the page opened, as Chromium saw it on the wire. */
interface SocketRecord {
  url: string;
  closed: boolean;
  /** The two header bytes of every binary frame received: version and flags. */
  binaryHeaders: [number, number][];
  textFrames: number;
  /** The requests the page sent, and the acks it received, parsed. */
  sent: Record<string, unknown>[];
  acks: Record<string, unknown>[];
}

describe('demo page (the live ticker board at /)', function () {
  this.timeout(60_000);
  let redis: PrivateRedis;
  let gw: GatewayProcess;
  let producer: ChildProcess;
  let browser: Browser;
  let page: Page;
  const sockets: SocketRecord[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    redis = await privateRedis();
    // A short delay, so the delayed board fills within the test; a fast heartbeat, so quiet rows show soon.
    gw = await startGateway(redis.url, ['--delay-s', '2', '--quiet-heartbeat-s', '1']);
    producer = track(spawn(process.execPath, [CLI, 'producer', '--redis', redis.url, '--rate', '500', '--symbols', '20',
      '--log-level', 'warn'], { stdio: 'ignore' }));
    // The 2 s budget below is for the page, not for a producer still starting up.
    await waitUntil('ticks flowing into the gateway', async () => (await metricValue(gw.http, 'tickgate_ticks_read_total')) > 0);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && pageErrors.push(`${msg.text()} (${msg.location().url})`));
    page.on('websocket', (ws) => {
      const rec: SocketRecord = { url: ws.url(), closed: false, binaryHeaders: [], textFrames: 0, sent: [], acks: [] };
      sockets.push(rec);
      ws.on('framereceived', ({ payload }) => {
        if (typeof payload !== 'string') return rec.binaryHeaders.push([payload[0], payload[1]]);
        rec.textFrames++;
        if (payload.startsWith('{"type":"ack"')) rec.acks.push(JSON.parse(payload));
      });
      ws.on('framesent', ({ payload }) => rec.sent.push(JSON.parse(String(payload))));
      ws.on('close', () => (rec.closed = true));
    });
  });

  after(async () => {
    await browser?.close();
    producer?.kill('SIGTERM');
    await gw?.stop();
    await redis?.stop();
    killAll();
  });

  it('loads at /, subscribes to the demo symbols in JSON and shows prices that move within 2 s', async () => {
    const res = await page.goto(`${gw.http}/`);
    expect(res?.status()).to.equal(200);
    expect(await page.title()).to.contain('tickgate');
    expect(await page.$$eval('tr[data-sym]', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.sym))).to.deep.equal(SYMBOLS);

    await page.waitForFunction(() => document.querySelectorAll('tr[data-px]').length === 20, undefined, { timeout: 2000 });
    await pricesMove(page);

    const hook = await page.evaluate(() => window.__tickgate);
    expect(hook).to.include({ format: 'json', compression: 'none', status: 'live' });
    expect(await page.textContent('#status')).to.contain('live');
    expect(sockets).to.have.length(1);
    expect(sockets[0].url).to.equal(`ws://127.0.0.1:${gw.port}/v1/stream?format=json&compression=none`);
    expect(sockets[0].binaryHeaders, 'plain JSON arrives as text frames').to.deep.equal([]);
  });

  it('subscribes the watchlist at 4 frames/s per symbol, with a snapshot; the ack states maxRate 4', async () => {
    const [ws] = sockets;
    expect(ws.sent).to.deep.equal([{ op: 'subscribe', id: 1, symbols: SYMBOLS, snapshot: true, maxRate: 4 }]);
    expect(ws.acks).to.deep.equal([{ type: 'ack', id: 1, op: 'subscribe', symbols: SYMBOLS, maxRate: 4 }]);
    expect(await tierColumn(page)).to.deep.equal(SYMBOLS.map(() => '4/s'));
  });

  it('reconnects in binary when the format changes, closes the old connection and keeps updating', async () => {
    await page.selectOption('#format', 'binary');
    await switched(page, 'binary', 'none');
    await pricesMove(page);
    expect(page.url()).to.match(/\?format=binary&compression=none$/);

    const ws = await newestSocket(sockets, 2);
    expect(ws.url).to.contain('format=binary&compression=none');
    // The watchlist's 4/s frames are of kind conflated (flag bits 2–3).
    const conflated = FRAME_KINDS.indexOf('conflated') << KIND_SHIFT;
    expect(new Set(ws.binaryHeaders.map(String))).to.deep.equal(new Set([String([FRAME_VERSION, FLAG_BINARY | conflated])]));
    await waitUntil('the JSON connection to close', () => sockets[0].closed);
  });

  it('reconnects with LZ4 when compression changes and keeps updating', async () => {
    await page.selectOption('#compression', 'lz4');
    await switched(page, 'binary', 'lz4');
    await pricesMove(page);

    const ws = await newestSocket(sockets, 3);
    expect(ws.url).to.contain('format=binary&compression=lz4');
    // Small batches are sent uncompressed (the gateway's LZ4 threshold) and say so in the flags: either is valid.
    for (const [version, flags] of ws.binaryHeaders) {
      expect(version).to.equal(FRAME_VERSION);
      expect(flags & ~FLAG_LZ4 & ~KIND_MASK).to.equal(FLAG_BINARY);
    }
    await waitUntil('the uncompressed binary connection to close', () => sockets[1].closed);
  });

  it('fills every row with price, change, rate and latency without page errors (screenshot in test-artifacts/)', async () => {
    // ticks/s is sampled once a second: wait for a sample taken entirely on the current connection.
    await page.waitForTimeout(2200);
    const cells = await page.$$eval('tr[data-sym]', (trs) => trs.map((tr) =>
      Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')));
    for (const [sym, px, chg, pct, bid, ask, , rate, latency, tier] of cells) {
      expect(px, sym).to.match(/^\d+\.\d+$/);
      expect(chg, sym).to.match(/^[+-]?\d+\.\d+$/);
      expect(pct, sym).to.match(/^[+-]?\d+\.\d{3}%$/);
      expect(Number(bid), sym).to.be.below(Number(ask));
      expect(Number(rate), sym).to.be.above(0);
      expect(latency, sym).to.match(/^-?\d+ ms$/);
      expect(tier, sym).to.equal('4/s');
    }
    // 20 symbols at 4/s: about 80 ticks/s, out of the producer's 500.
    expect(Number((await page.textContent('#stat-ticks'))!.replace(/,/g, ''))).to.be.above(20);
    expect(pageErrors).to.deep.equal([]);
    expect(await page.isHidden('#error')).to.equal(true);

    mkdirSync(join(repoRoot(), 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('focuses a clicked row at every tick, and moves the previous focus back to 4/s', async () => {
    const ws = sockets[sockets.length - 1];
    const before = ws.sent.length;
    await page.click('tr[data-sym="BTC-USD"]');
    await waitUntil('the focus move acked', () => ws.acks.some((a) => a.id === ws.sent[before]?.id));
    // A move within real time resumes from the id the page holds: no gap, no snapshot.
    expect(ws.sent.slice(before).map(shape)).to.deep.equal([{ op: 'subscribe', symbols: ['BTC-USD'], since: ['BTC-USD'] }]);
    expect(ws.acks.find((a) => a.id === ws.sent[before].id)).to.not.have.property('maxRate');
    await page.waitForFunction(() => document.querySelector('tr[data-sym="BTC-USD"] td.tier')?.textContent === 'full');
    expect(await page.getAttribute('tr[data-sym="BTC-USD"]', 'class')).to.equal('focus');

    await page.click('tr[data-sym="ETH-USD"]');
    await waitUntil('both moves acked', () => ws.sent.length === before + 3 && ws.acks.some((a) => a.id === ws.sent[before + 2].id));
    expect(ws.sent.slice(before + 1).map(shape)).to.deep.equal([
      { op: 'subscribe', symbols: ['BTC-USD'], since: ['BTC-USD'], maxRate: 4 },
      { op: 'subscribe', symbols: ['ETH-USD'], since: ['ETH-USD'] },
    ]);
    await page.waitForFunction(() => document.querySelector('tr[data-sym="BTC-USD"] td.tier')?.textContent === '4/s');
    const focused = await page.$$eval('tr.focus', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.sym));
    expect(focused).to.deep.equal(['ETH-USD']);
    expect(await page.evaluate(() => window.__tickgate.focus)).to.equal('ETH-USD');
    await pricesMove(page);
  });

  it('moves the whole board to the delayed tier with the toggle, says so, and fills it with delayed ticks', async () => {
    const ws = sockets[sockets.length - 1];
    const before = ws.sent.length;
    await page.check('#delayed');
    await waitUntil('the delayed subscribes acked', () => ws.sent.length === before + 2 && ws.sent.slice(before).every((r) => ws.acks.some((a) => a.id === r.id)));
    const watch = SYMBOLS.filter((s) => s !== 'ETH-USD');
    // Real time and delayed are different points of the stream: a snapshot, not since.
    expect(ws.sent.slice(before).map(shape)).to.deep.equal([
      { op: 'subscribe', symbols: watch, snapshot: true, maxRate: 4, delayed: true },
      { op: 'subscribe', symbols: ['ETH-USD'], snapshot: true, delayed: true },
    ]);
    expect(ws.sent.slice(before).map((r) => ws.acks.find((a) => a.id === r.id)).map((a) => [a!.maxRate, a!.delayed])).to.deep.equal([[4, true], [undefined, true]]);
    expect(await page.isVisible('#delayed-banner')).to.equal(true);
    expect(await page.textContent('#delayed-banner')).to.match(/^Delayed/);
    expect(page.url()).to.match(/delayed=1/);
    await page.waitForFunction(() => document.querySelectorAll('tr[data-px]').length === 20, undefined, { timeout: 10_000 });
    expect(await tierColumn(page)).to.deep.equal(SYMBOLS.map((s) => (s === 'ETH-USD' ? 'delayed' : 'delayed 4/s')));
    // Every price shown is at least the gateway's delay (2 s) old.
    await page.waitForTimeout(500);
    const latencies = await page.$$eval('td.lat', (tds) => tds.map((td) => parseInt(td.textContent ?? '', 10)));
    for (const ms of latencies) expect(ms).to.be.at.least(2000);
  });

  it('takes symbols, format and compression from the query string and drops invalid symbols visibly', async () => {
    const other = await browser.newPage();
    try {
      await other.goto(`${gw.http}/?symbols=ETH-USD,%3Cb%3Ebad%3C/b%3E,BTC-USD&format=binary&compression=lz4`);
      await other.waitForFunction(() => document.querySelectorAll('tr[data-px]').length === 2, undefined, { timeout: 2000 });
      expect(await other.$$eval('tr[data-sym]', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.sym))).to.deep.equal(['ETH-USD', 'BTC-USD']);
      expect(await other.evaluate(() => window.__tickgate)).to.include({ format: 'binary', compression: 'lz4', status: 'live' });
      expect(await other.inputValue('#format')).to.equal('binary');
      expect(await other.inputValue('#compression')).to.equal('lz4');
      // Shown as text, never parsed as markup.
      expect(await other.textContent('#error')).to.equal('ignored invalid symbols: <b>bad</b>');
    } finally {
      await other.close();
    }
  });

  it('greys rows whose symbols went quiet', async () => {
    producer.kill('SIGTERM');
    // Delayed data keeps coming for 2 s after the producer stops; then heartbeats name every symbol.
    await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLElement>('tr[data-sym]')).every((tr) => tr.dataset.idle === 'quiet'),
      undefined, { timeout: 10_000 });
  });

  it('shows the connection as reconnecting when the gateway goes away', async () => {
    await gw.stop();
    await page.waitForFunction(() => window.__tickgate.status === 'reconnecting', undefined, { timeout: 5000 });
    expect(await page.getAttribute('#status', 'data-status')).to.equal('reconnecting');
    expect(await page.textContent('#status')).to.match(/reconnecting in \d+\.\d s/);
  });
});

/** A request without its id, and with the symbols its `since` names instead of the ids (what the page holds). */
function shape(request: Record<string, unknown>): Record<string, unknown> {
  const { since, ...rest } = Object.fromEntries(Object.entries(request).filter(([key]) => key !== 'id'));
  return since === undefined ? rest : { ...rest, since: Object.keys(since as object) };
}

/** The tier column, top to bottom. */
function tierColumn(page: Page): Promise<string[]> {
  return page.$$eval('td.tier', (tds) => tds.map((td) => td.textContent ?? ''));
}

/** Waits until at least one row's price differs from what it is now. */
async function pricesMove(page: Page): Promise<void> {
  const before = await page.$$eval('tr[data-px]', (trs) =>
    Object.fromEntries(trs.map((tr) => [(tr as HTMLElement).dataset.sym!, (tr as HTMLElement).dataset.px!])));
  await page.waitForFunction((prev) => Array.from(document.querySelectorAll<HTMLElement>('tr[data-px]'))
    .some((tr) => tr.dataset.px !== prev[tr.dataset.sym!]), before, { timeout: 2000 });
}

/** Waits until the page reports a live connection in the new format that has delivered data. */
async function switched(page: Page, format: string, compression: string): Promise<void> {
  await page.waitForFunction(([f, c]) => {
    const hook = window.__tickgate;
    return hook.format === f && hook.compression === c && hook.status === 'live' && hook.frames > 0;
  }, [format, compression], { timeout: 2000 });
}

/** The page's `count`-th socket, once Chromium has reported data frames on it. */
async function newestSocket(sockets: SocketRecord[], count: number): Promise<SocketRecord> {
  await waitUntil(`socket #${count} with data frames`, () => sockets.length === count && sockets[count - 1].binaryHeaders.length > 0);
  return sockets[count - 1];
}
