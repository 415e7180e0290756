/**
 * The live ticker board served at `/`: one row per symbol, fed by the browser SDK over /v1/stream.
 *
 * Ticks arrive far faster than a screen refreshes (hundreds per second), so a frame only updates its row's state;
 * the DOM is written once per animation frame, and only for rows that changed since the last one.
 *
 * Query parameters: `symbols=A,B` (default: the demo producer's first 20), `format=json|binary`,
 * `compression=none|lz4`. Switching format or compression rewrites the last two, so a reload keeps the choice.
 */
import { connect, DataFrame, TickgateClient, WebSocketConstructor } from '../../client/browser';
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
}

const FLASH_UP = 'rgb(63 185 80 / 0.25)';
const FLASH_DOWN = 'rgb(248 81 73 / 0.25)';
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
};
window.__tickgate = hook;

const rows = new Map<string, Row>();
const dirty = new Set<Row>();
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
    tbody.append(tr);
    rows.set(sym, {
      tr, cells: { px, chg, pct, bid, ask, mark, rate, lat },
      first: NaN, low: NaN, high: NaN, last: '', shown: '', bid: '', ask: '', latency: NaN, count: 0, rate: NaN,
    });
  }
}

function onFrame(frame: DataFrame): void {
  hook.frames++;
  windowFrames++;
  const row = rows.get(frame.sym);
  if (!row || frame.ticks.length === 0) return;
  const now = Date.now();
  for (const t of frame.ticks) {
    const px = Number(t.px);
    if (Number.isNaN(row.first)) row.first = row.low = row.high = px;
    if (px < row.low) row.low = px;
    if (px > row.high) row.high = px;
    latencies.push(now - t.ts);
  }
  const newest = frame.ticks[frame.ticks.length - 1];
  row.last = newest.px;
  if (newest.bid !== undefined) row.bid = newest.bid;
  if (newest.ask !== undefined) row.ask = newest.ask;
  row.latency = now - newest.ts;
  row.count += frame.ticks.length;
  windowTicks += frame.ticks.length;
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
    if (row.shown !== '' && px !== Number(row.shown)) {
      const up = px > Number(row.shown);
      c.px.className = up ? 'px up' : 'px down';
      c.px.animate([{ backgroundColor: up ? FLASH_UP : FLASH_DOWN }, { backgroundColor: 'transparent' }], { duration: 600, easing: 'ease-out' });
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
    if (row.shown !== '') markDirty(row);
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
  c.subscribe(hook.symbols).catch((err: Error) => current() && showError(`subscribe failed: ${err.message}`));
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
formatEl.addEventListener('change', onControlsChanged);
compressionEl.addEventListener('change', onControlsChanged);
showError('');
setInterval(sample, 1000);
start();
