/**
 * A self-contained SVG (no scripts, no external references): p99 latency against offered load, log-log, one line
 * per system over its ramp; a hollow marker is a step that was not sustained. Dashed lines mark 5 ms and 50 ms.
 */
import { BenchResults } from './results';

const W = 760;
const H = 440;
const M = { left: 70, right: 190, top: 30, bottom: 55 };
const COLORS = ['#1f77b4', '#2ca02c', '#d62728', '#9467bd', '#ff7f0e', '#8c564b'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Powers of ten covering [min, max], for a log axis. */
function decades(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
  return out;
}

function label(v: number): string {
  return v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : String(v);
}

export function svgChart(r: BenchResults): string {
  const series = r.systems.map((s) => ({ label: s.label, points: s.ramp.filter((p) => p.latency.count > 0) }));
  const all = series.flatMap((s) => s.points);
  const xs = decades(Math.min(...all.map((p) => p.offeredDeliveriesPerS), 1e3), Math.max(...all.map((p) => p.offeredDeliveriesPerS), 1e4));
  const ys = decades(Math.max(0.01, Math.min(...all.map((p) => p.latency.p99Ms), 1)), Math.max(...all.map((p) => p.latency.p99Ms), 100));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (v: number) => M.left + (pw * (Math.log10(v) - Math.log10(xs[0]))) / (Math.log10(xs[xs.length - 1]) - Math.log10(xs[0]));
  const y = (v: number) => M.top + ph - (ph * (Math.log10(v) - Math.log10(ys[0]))) / (Math.log10(ys[ys.length - 1]) - Math.log10(ys[0]));
  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  for (const v of xs) parts.push(`<line x1="${x(v)}" y1="${M.top}" x2="${x(v)}" y2="${M.top + ph}" stroke="#ddd"/><text x="${x(v)}" y="${M.top + ph + 18}" text-anchor="middle">${label(v)}</text>`);
  for (const v of ys) parts.push(`<line x1="${M.left}" y1="${y(v)}" x2="${M.left + pw}" y2="${y(v)}" stroke="#ddd"/><text x="${M.left - 8}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
  for (const bound of [5, 50]) {
    if (bound >= ys[0] && bound <= ys[ys.length - 1]) {
      parts.push(`<line x1="${M.left}" y1="${y(bound)}" x2="${M.left + pw}" y2="${y(bound)}" stroke="#888" stroke-dasharray="6 4"/><text x="${M.left + pw - 4}" y="${y(bound) - 4}" text-anchor="end" fill="#666">${bound} ms</text>`);
    }
  }
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    if (s.points.length > 1) parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${s.points.map((p) => `${x(p.offeredDeliveriesPerS)},${y(p.latency.p99Ms)}`).join(' ')}"/>`);
    for (const p of s.points) parts.push(`<circle cx="${x(p.offeredDeliveriesPerS)}" cy="${y(p.latency.p99Ms)}" r="4" stroke="${c}" stroke-width="2" fill="${p.sustained ? c : 'white'}"/>`);
    const ly = M.top + 10 + i * 22;
    parts.push(`<line x1="${W - M.right + 20}" y1="${ly}" x2="${W - M.right + 44}" y2="${ly}" stroke="${c}" stroke-width="2"/><text x="${W - M.right + 50}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  parts.push(`<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">offered load (deliveries/s = produced ticks/s × subscribers per symbol)</text>`);
  parts.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">p99 latency (ms)</text>`);
  parts.push(`<text x="${M.left}" y="18">p99 latency vs offered load — ${esc(r.machine.cpuModel)}, ${r.machine.cores} cores, Node ${esc(r.machine.node)} (hollow: not sustained)</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">\n${parts.join('\n')}\n</svg>\n`;
}
