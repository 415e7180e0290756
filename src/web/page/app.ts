/**
 * The live ticker board served at `/`: one row per symbol, fed by the browser SDK over /v1/stream.
 *
 * A watchlist needs no more than a few prices a second per symbol, so every row is subscribed at the 4/s rate tier;
 * clicking a row focuses it, moving that symbol to every tick (and the previous focus back to 4/s). The delayed
 * toggle moves the whole board to the delayed tier. A frame only updates its row's state; the DOM is written once
 * per animation frame, and only for rows that changed since the last one.
 *
 * Query parameters: `symbols=A,B` (default: the demo producer's first 20), `format=json|binary`,
 * `compression=none|lz4`, `delayed=1`. Switching format, compression or delayed rewrites them, so a reload keeps the choice.
 */
import { connect, DataFrame, Tick, TickgateClient, WebSocketConstructor } from '../../client/browser';
import { symbolNames } from '../../producer/random-walk';
import { Compression, COMPRESSIONS, Encoding, ENCODINGS } from '../../wire/formats';
import { isValidSymbol } from '../../wire/tick';

type Status = 'connecting' | 'live' | 'reconnecting' | 'closed';

/** What the end-to-end test reads; small on purpose, so the page can change without breaking it. */
interface BoardHook {
  symbols: string[];
  format: Encoding;
  compression: Compression;
  status: Status;
  /** Data frames received on the current connection: restarts at 0 when the format or compression changes. */
  frames: number;
  /** Date.now() of the last paint that changed the board. */
  lastUpdate: number;
  /** Whether the board is on the delayed tier, and the symbol at full rate (null: none). */
  delayed: boolean;
  focus: string | null;
}

declare global {
  interface Window {
    __tickgate: BoardHook;
  }
}

interface Cells {
  px: HTMLElement;
  chg: HTMLElement;
  pct: HTMLElement;
  bid: HTMLElement;
  ask: HTMLElement;
  mark: HTMLElement;
  rate: HTMLElement;
  lat: HTMLElement;
  tier: HTMLElement;
}

interface Row {
  tr: HTMLTableRowElement;
  cells: Cells;
  /** First price seen on this page, the base of "change"; NaN until then. */
  first: number;
  low: number;
  high: number;
  last: string;
  /** The price currently painted, to tell an up tick from a down tick at paint time. */
  shown: string;
  bid: string;
  ask: string;
  /** Receive time minus the newest tick's producer timestamp, ms. */
  latency: number;
  /** Ticks since the last once-a-second sample, and the rate that sample computed (NaN before the first). */
  count: number;
  rate: number;
  /** Date.now() when the row's last frame or snapshot arrived (0: none yet), and whether a heartbeat named it since. */
  receivedAt: number;
  quiet: boolean;
}

const FLASH_UP = ['rgb(63 185 80 / 0.3)', '#3fb950'];
const FLASH_DOWN = ['rgb(248 81 73 / 0.3)', '#f85149'];
/** The watchlist's rate tier (frames per second per symbol). */
const WATCH_RATE = 4;
/** A row with no frame for this long is greyed as stale: at 4/s a ticking symbol gets a frame every 250 ms. */
const STALE_MS = 3000;
const params = new URLSearchParams(location.search);
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/stream`;

const requested = (params.get('symbols') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
// The server refuses a whole subscribe over one bad symbol; dropping it here keeps the rest of the board alive.
const rejected = requested.filter((s) => !isValidSymbol(s));
const chosen = [...new Set(requested.filter((s) => isValidSymbol(s)))];
const notice = rejected.length > 0 ? `ignored invalid symbols: ${rejected.join(', ')}` : '';

const hook: BoardHook = {
  symbols: chosen.length > 0 ? chosen : symbolNames(20),
  format: pick(params.get('format'), ENCODINGS, 'json'),
  compression: pick(params.get('compression'), COMPRESSIONS, 'none'),
  status: 'connecting',
  frames: 0,
  lastUpdate: 0,
  delayed: params.get('delayed') === '1',
  focus: null,
};
window.__tickgate = hook;

const rows = new Map<string, Row>();
const dirty = new Set<Row>();
/**
 * Rows moving between real time and delayed: frames before their new tier's snapshot (or, with no snapshot tick,
 * before the ack) are of the old tier, minutes apart, and are not shown.
 */
const switching = new Set<Row>();
let paintScheduled = false;
let client: TickgateClient | null = null;

// Totals for the stats strip, reset by every once-a-second sample.
let sampledAt = performance.now();
let windowTicks = 0;
let windowFrames = 0;
let windowBytes = 0;
let latencies: number[] = [];

function pick<T extends string>(value: string | null, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html lacks #${id}`);
  return el as T;
}

const statusEl = byId('status');
const errorEl = byId('error');
const formatEl = byId<HTMLSelectElement>('format');
const compressionEl = byId<HTMLSelectElement>('compression');
const delayedEl = byId<HTMLInputElement>('delayed');
const bannerEl = byId('delayed-banner');
const stats = {
  ticks: byId('stat-ticks'),
  frames: byId('stat-frames'),
  bytes: byId('stat-bytes'),
  perTick: byId('stat-per-tick'),
  p50: byId('stat-p50'),
  max: byId('stat-max'),
};

function buildRows(): void {
  const tbody = byId('board').querySelector('tbody')!;
  for (const sym of hook.symbols) {
    const tr = document.createElement('tr');
    tr.dataset.sym = sym;
    const cell = (cls: string, text = '–') => {
      const td = document.createElement('td');
      td.className = cls;
      td.textContent = text;
      tr.append(td);
      return td;
    };
    cell('sym', sym);
    const px = cell('px');
    const chg = cell('chg');
    const pct = cell('pct');
    const bid = cell('bid');
    const ask = cell('ask');
    const bar = document.createElement('div');
    bar.className = 'bar';
    const mark = document.createElement('i');
    mark.hidden = true;
    bar.append(mark);
    cell('range', '').append(bar);
    const rate = cell('rate');
    const lat = cell('lat');
    const tier = cell('tier');
    tbody.append(tr);
    const row: Row = {
      tr, cells: { px, chg, pct, bid, ask, mark, rate, lat, tier },
      first: NaN, low: NaN, high: NaN, last: '', shown: '', bid: '', ask: '', latency: NaN, count: 0, rate: NaN, receivedAt: 0, quiet: false,
    };
    rows.set(sym, row);
  }
  tbody.addEventListener('click', (event) => {
    const tr = (event.target as Element).closest<HTMLElement>('tr[data-sym]');
    if (tr) focus(tr.dataset.sym!);
  });
}

/** Forgets a row's prices: after a move between real time and delayed, the two are minutes apart. */
function resetRow(row: Row): void {
  Object.assign(row, { first: NaN, low: NaN, high: NaN, last: '', shown: '', bid: '', ask: '', latency: NaN, receivedAt: 0, quiet: false });
  delete row.tr.dataset.px;
  for (const cell of [row.cells.px, row.cells.chg, row.cells.pct]) cell.textContent = '–';
  row.cells.mark.hidden = true;
  markDirty(row);
}

function onFrame(frame: DataFrame): void {
  hook.frames++;
  windowFrames++;
  const row = rows.get(frame.sym);
  if (row && frame.ticks.length > 0 && !switching.has(row)) onTicks(row, frame.ticks);
}

function onTicks(row: Row, ticks: readonly Tick[]): void {
  const now = Date.now();
  row.receivedAt = now;
  row.quiet = false;
  for (const t of ticks) {
    const px = Number(t.px);
    if (Number.isNaN(row.first)) row.first = row.low = row.high = px;
    if (px < row.low) row.low = px;
    if (px > row.high) row.high = px;
    latencies.push(now - t.ts);
  }
  const newest = ticks[ticks.length - 1];
  row.last = newest.px;
  if (newest.bid !== undefined) row.bid = newest.bid;
  if (newest.ask !== undefined) row.ask = newest.ask;
  row.latency = now - newest.ts;
  row.count += ticks.length;
  windowTicks += ticks.length;
  markDirty(row);
}

function markDirty(row: Row): void {
  dirty.add(row);
  if (paintScheduled) return;
  paintScheduled = true;
  requestAnimationFrame(paint);
}

function paint(): void {
  paintScheduled = false;
  for (const row of dirty) paintRow(row);
  dirty.clear();
  hook.lastUpdate = Date.now();
}

function paintRow(row: Row): void {
  const c = row.cells;
  if (row.last !== row.shown) {
    const px = Number(row.last);
    // Only a price that moved flashes, in the colour of its move; the text then returns to its own colour.
    if (row.shown !== '' && px !== Number(row.shown)) {
      const [background, color] = px > Number(row.shown) ? FLASH_UP : FLASH_DOWN;
      c.px.animate([{ backgroundColor: background, color }, { backgroundColor: 'transparent' }], { duration: 500, easing: 'ease-out' });
    }
    c.px.textContent = row.last;
    row.tr.dataset.px = row.last;
    row.shown = row.last;

    const change = signed(px - row.first, decimals(row.last));
    c.chg.textContent = change;
    c.chg.className = `chg ${trend(change)}`;
    const pct = row.first === 0 ? '–' : `${signed(((px - row.first) / row.first) * 100, 3)}%`;
    c.pct.textContent = pct;
    c.pct.className = `pct ${trend(pct)}`;
    c.mark.hidden = false;
    c.mark.style.left = `${row.high > row.low ? ((px - row.low) / (row.high - row.low)) * 100 : 50}%`;
  }
  c.bid.textContent = row.bid || '–';
  c.ask.textContent = row.ask || '–';
  c.rate.textContent = Number.isNaN(row.rate) ? '–' : row.rate.toFixed(0);
  c.lat.textContent = Number.isNaN(row.latency) ? '–' : `${Math.round(row.latency)} ms`;
  const sym = row.tr.dataset.sym!;
  c.tier.textContent = client?.grantedTier(sym)?.label ?? '–';
  row.tr.classList.toggle('focus', sym === hook.focus);
  // Greyed: a heartbeat said the symbol has had no frame for a while (quiet), or the board has seen none (stale).
  const idle = row.quiet ? 'quiet' : Date.now() - row.receivedAt > STALE_MS ? 'stale' : '';
  if (row.tr.dataset.idle !== idle) row.tr.dataset.idle = idle;
}

/** "+1.25", "-0.40", "0.00": a change that rounds to zero gets no sign. */
function signed(value: number, digits: number): string {
  const text = value.toFixed(digits);
  const rounded = Number(text);
  return rounded > 0 ? `+${text}` : rounded < 0 ? text : (0).toFixed(digits);
}

/** Colour follows the text shown, so a change that rounds to zero is not painted red or green. */
function trend(text: string): string {
  return text.startsWith('+') ? 'up' : text.startsWith('-') ? 'down' : '';
}

function decimals(px: string): number {
  const dot = px.indexOf('.');
  return dot < 0 ? 0 : px.length - dot - 1;
}

/** Once a second: per-row ticks/s and the stats strip. Cheap enough to touch every row. */
function sample(): void {
  const now = performance.now();
  const seconds = (now - sampledAt) / 1000;
  sampledAt = now;
  for (const row of rows.values()) {
    row.rate = row.count / seconds;
    row.count = 0;
    markDirty(row); // also re-judges staleness
  }
  stats.ticks.textContent = Math.round(windowTicks / seconds).toLocaleString('en-US');
  stats.frames.textContent = Math.round(windowFrames / seconds).toLocaleString('en-US');
  stats.bytes.textContent = (windowBytes / seconds / 1024).toFixed(1);
  stats.perTick.textContent = windowTicks > 0 ? (windowBytes / windowTicks).toFixed(1) : '–';
  latencies.sort((a, b) => a - b);
  stats.p50.textContent = latencies.length > 0 ? `${Math.round(latencies[latencies.length >> 1])} ms` : '–';
  stats.max.textContent = latencies.length > 0 ? `${Math.round(latencies[latencies.length - 1])} ms` : '–';
  windowTicks = 0;
  windowFrames = 0;
  windowBytes = 0;
  latencies = [];
}

function setStatus(status: Status, text: string = status): void {
  hook.status = status;
  statusEl.dataset.status = status;
  statusEl.querySelector('span')!.textContent = text;
}

function showError(message: string): void {
  const text = [notice, message].filter((s) => s !== '').join(' · ');
  errorEl.textContent = text;
  errorEl.hidden = text === '';
}

/**
 * The SDK hands the page decoded frames only; counting bytes on the socket itself is what lets the board show what
 * a format or compression choice costs on the wire. A text frame's length stands in for its byte count: tickgate's
 * JSON is ASCII apart from pass-through fields the demo producer does not write.
 */
class CountingWebSocket extends WebSocket {
  constructor(url: string) {
    super(url);
    this.addEventListener('message', (event: MessageEvent<string | ArrayBuffer>) => {
      windowBytes += typeof event.data === 'string' ? event.data.length : event.data.byteLength;
    });
  }
}

/** Subscribes the board: the watchlist at 4/s, the focused symbol at every tick, all on the delayed tier or none. */
function subscribeBoard(c: TickgateClient): Promise<unknown> {
  const { focus: focused, delayed } = hook;
  const watch = hook.symbols.filter((s) => s !== focused);
  return Promise.all([
    watch.length > 0 && c.subscribe(watch, { maxRate: WATCH_RATE, delayed, snapshot: true }),
    focused !== null && c.subscribe([focused], { delayed, snapshot: true }),
  ]).finally(() => rows.forEach(markDirty)); // the tier column shows what the acks granted
}

/** Clicking the focused row unfocuses it; the SDK moves each symbol to its new tier without a gap. */
function focus(sym: string): void {
  const previous = hook.focus;
  hook.focus = previous === sym ? null : sym;
  const c = client;
  if (!c) return;
  const moves: Promise<void>[] = [];
  if (previous !== null) moves.push(c.subscribe([previous], { maxRate: WATCH_RATE, delayed: hook.delayed }));
  if (hook.focus !== null) moves.push(c.subscribe([hook.focus], { delayed: hook.delayed }));
  Promise.all(moves).then(() => undefined, (err: Error) => c === client && showError(`focus failed: ${err.message}`))
    .finally(() => rows.forEach(markDirty));
}

function onDelayedChanged(): void {
  hook.delayed = delayedEl.checked;
  bannerEl.hidden = !hook.delayed;
  params.set('delayed', hook.delayed ? '1' : '0');
  history.replaceState(null, '', `?${params}`);
  for (const row of rows.values()) {
    resetRow(row);
    switching.add(row);
  }
  const c = client;
  if (!c) return;
  subscribeBoard(c).finally(() => switching.clear()).catch((err: Error) => {
    if (c !== client) return;
    // Refused (e.g. a gateway without a delayed tier): the SDK kept the old tier, and so does the board.
    showError(`${hook.delayed ? 'delayed' : 'real-time'} subscribe failed: ${err.message}`);
    delayedEl.checked = !hook.delayed;
    hook.delayed = !hook.delayed;
    bannerEl.hidden = !hook.delayed;
  });
}

/** (Re)connects with the selected format and compression; the old connection is closed for good first. */
function start(): void {
  client?.close();
  const c = connect(wsUrl, { format: hook.format, compression: hook.compression, WebSocket: CountingWebSocket as WebSocketConstructor });
  client = c;
  hook.frames = 0;
  byId('endpoint').textContent = `${wsUrl}?format=${hook.format}&compression=${hook.compression}`;
  setStatus('connecting', 'connecting…');
  // A replaced client still reports its own close (and may report errors): it must not touch the board.
  const current = () => c === client;
  c.on('ticks', (frame) => current() && onFrame(frame));
  c.on('snapshot', (snapshot) => {
    if (!current()) return;
    for (const t of snapshot.ticks) {
      const row = rows.get(t.sym);
      if (!row) continue;
      switching.delete(row);
      onTicks(row, [t]);
    }
  });
  c.on('heartbeat', (heartbeat) => {
    if (!current()) return;
    for (const sym of Object.keys(heartbeat.quiet)) {
      const row = rows.get(sym);
      if (row) markDirty(Object.assign(row, { quiet: true }));
    }
  });
  c.on('open', () => {
    if (!current()) return;
    setStatus('live', `live · ${hook.format}${hook.compression === 'lz4' ? ' + lz4' : ''}`);
    showError('');
  });
  c.on('reconnecting', (attempt, delayMs) => {
    if (current()) setStatus('reconnecting', `reconnecting in ${(delayMs / 1000).toFixed(1)} s (#${attempt})`);
  });
  // 'reconnecting' comes just before 'close' when the client will retry; a close without it is final.
  c.on('close', (code, reason) => {
    if (current() && hook.status !== 'reconnecting') setStatus('closed', `closed (${code}${reason ? `: ${reason}` : ''})`);
  });
  c.on('error', (err) => current() && showError(err.message));
  subscribeBoard(c).catch((err: Error) => current() && showError(`subscribe failed: ${err.message}`));
}

function onControlsChanged(): void {
  hook.format = pick(formatEl.value, ENCODINGS, 'json');
  hook.compression = pick(compressionEl.value, COMPRESSIONS, 'none');
  params.set('format', hook.format);
  params.set('compression', hook.compression);
  history.replaceState(null, '', `?${params}`);
  start();
}

buildRows();
formatEl.value = hook.format;
compressionEl.value = hook.compression;
delayedEl.checked = hook.delayed;
bannerEl.hidden = !hook.delayed;
formatEl.addEventListener('change', onControlsChanged);
compressionEl.addEventListener('change', onControlsChanged);
delayedEl.addEventListener('change', onDelayedChanged);
showError('');
setInterval(sample, 1000);
start();
