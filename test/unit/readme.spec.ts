import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { COMMANDS, Command, OptionDoc, optionDocs } from '../../src/config';
import { MALFORMED_KINDS, parseEntry } from '../../src/ingest/parse-entry';
import { createMetrics } from '../../src/metrics/metrics';
import { CLOSE_CODES, ERROR_CODES } from '../../src/protocol/codes';
import { encodeJsonFrame } from '../../src/wire/json';
import { RESERVED_KEYS } from '../../src/wire/tick';
import { repoRoot } from '../helpers/gateway';

const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');

/** The text of the section of `doc` under `heading` (a whole line), up to the next heading of any level. */
function sectionOf(doc: string, heading: string): string {
  const lines = doc.split('\n');
  const start = lines.indexOf(heading);
  expect(start, `heading ${heading}`).to.be.greaterThan(-1);
  const end = lines.findIndex((l, i) => i > start && /^#{1,6} /.test(l));
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

function section(heading: string): string {
  return sectionOf(readme, heading);
}

/** The names written in backticks in `text`, outside fenced code blocks. */
function codeSpans(text: string): string[] {
  return [...text.replace(/^```[^]*?^```$/gm, '').matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}

/** The cells of every table row of `text` whose first cell is not a header or separator. */
function rows(text: string): string[][] {
  return text.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---'))
    .map((l) => l.slice(2, -2).split(' | '));
}

/** The configuration table of each command: flag → [environment, default, meaning] as written. */
function optionTables(): Record<Command, Map<string, string[]>> {
  const config = section('## Configuration');
  const tables = {} as Record<Command, Map<string, string[]>>;
  for (const command of Object.keys(COMMANDS) as Command[]) {
    const at = config.indexOf(`**tickgate ${command}**`);
    expect(at, `a table for tickgate ${command}`).to.be.greaterThan(-1);
    const rest = config.slice(at + 1);
    const next = rest.indexOf('**tickgate ');
    const table = rows(next === -1 ? rest : rest.slice(0, next)).filter(([flag]) => flag.startsWith('`--'));
    tables[command] = new Map(table.map(([flag, ...cells]) => [flag, cells]));
  }
  return tables;
}

/** Defaults that depend on the machine are written as what they are derived from. */
const MACHINE_DEFAULTS = new Map([[String(availableParallelism()), '(cores)'], [hostname(), '(hostname)']]);

/** A row as the configuration module would write it: an empty default is a word in parentheses. */
function expectRow(cells: string[] | undefined, o: OptionDoc, where: string): void {
  expect(cells, `${where}: a row for ${o.flag}`).to.not.equal(undefined);
  const [env, def, meaning] = cells!;
  expect(env, `${where} ${o.flag}: environment`).to.equal('`' + o.env + '`');
  if (o.default === '') expect(def, `${where} ${o.flag}: default`).to.match(/^\([a-z]+\)$/);
  else if (MACHINE_DEFAULTS.has(o.default) && def.startsWith('(')) expect(def, `${where} ${o.flag}: default`).to.equal(MACHINE_DEFAULTS.get(o.default));
  else expect(def, `${where} ${o.flag}: default`).to.equal('`' + o.default + '`');
  expect(meaning, `${where} ${o.flag}: meaning`).to.equal(o.help);
}

describe('README', () => {
  it('documents every option of every command in its configuration row: flag, environment variable, default and meaning', () => {
    const tables = optionTables();
    for (const o of optionDocs('gateway')) expectRow(tables.gateway.get('`' + o.flag + '`'), o, 'gateway');
    // The producer's table lists its own options; the ones it shares with the gateway are "as above".
    for (const o of optionDocs('producer')) {
      expectRow(tables.producer.get('`' + o.flag + '`') ?? tables.gateway.get('`' + o.flag + '`'), o, 'producer');
    }
    // The demo's table lists what differs; every other option is the gateway's or the producer's, unchanged.
    for (const o of optionDocs('demo')) {
      expectRow(tables.demo.get('`' + o.flag + '`') ?? tables.gateway.get('`' + o.flag + '`') ?? tables.producer.get('`' + o.flag + '`'), o, 'demo');
    }
  });

  it('lists no option in a configuration table that its command does not have', () => {
    const tables = optionTables();
    for (const command of Object.keys(COMMANDS) as Command[]) {
      const flags = new Set(optionDocs(command).map((o) => '`' + o.flag + '`'));
      expect([...tables[command].keys()].filter((f) => !flags.has(f)), `tickgate ${command}`).to.deep.equal([]);
    }
  });

  it('documents every error code in the error-code table', () => {
    const documented = rows(section('### Error codes (in-band; the connection stays open)')).map(([code]) => code);
    expect(documented).to.include.members(Object.keys(ERROR_CODES).map((c) => '`' + c + '`'));
  });

  it('documents every close code in the close-code table: a row of its own, or named in its range\'s row', () => {
    const table = rows(section('### Close codes'));
    for (const [name, code] of Object.entries(CLOSE_CODES)) {
      const own = table.some(([first]) => first === String(code));
      const range = table.find(([first]) => {
        const m = /^(\d+)–(\d+)$/.exec(first);
        return m !== null && code >= Number(m[1]) && code <= Number(m[2]);
      });
      const named = range !== undefined && new RegExp(`(^|[ (])${code}[ )]`).test(range.slice(1).join(' | '));
      expect(own || named, `close code ${code} (${name})`).to.equal(true);
    }
  });

  describe('stream-entry contract', () => {
    const contract = () => section('## Stream-entry contract');

    it('gives an XADD example that the gateway accepts, and the JSON tick it becomes, exactly', () => {
      const xadd = /^XADD (\S+) MAXLEN ~ \d+ \* (.+)$/m.exec(contract());
      expect(xadd, 'an XADD line').to.not.equal(null);
      const fields = xadd![2].split(' ');
      const json = /receives this tick as\s+`(\{.+?\})`/.exec(contract());
      expect(json, 'the tick a JSON client receives').to.not.equal(null);
      const id = (JSON.parse(json![1]) as { id: string }).id;
      const parsed = parseEntry(id, fields);
      expect(parsed).to.not.be.a('string');
      const frame = encodeJsonFrame({ sym: 'BTC-USD', ticks: [(parsed as Exclude<typeof parsed, string>).tick] }, 0);
      expect(frame).to.equal(`{"type":"ticks","sym":"BTC-USD","sent":0,"ticks":[${json![1]}]}`);
    });

    it('names every kind of malformed entry the gateway counts', () => {
      const named = new Set(codeSpans(contract()));
      expect([...MALFORMED_KINDS, 'wrong_stream'].filter((k) => !named.has(k))).to.deep.equal([]);
    });

    it('lists exactly the reserved names a pass-through field may not have', () => {
      const fields = rows(contract()).flatMap(([first]) => codeSpans(first));
      const list = /no\s+other field may have the name of a key the protocol owns: ([^]*?)\. So no/.exec(contract());
      expect(list, 'the reserved-name list').to.not.equal(null);
      expect([...fields, ...codeSpans(list![1])].sort()).to.deep.equal([...RESERVED_KEYS].sort());
    });
  });

  it('src/metrics/README.md documents every metric the gateway defines: type, labels and its help text', async () => {
    const doc = readFileSync(join(repoRoot(), 'src', 'metrics', 'README.md'), 'utf8');
    const table = new Map(rows(doc).filter(([name]) => name.startsWith('`tickgate_')).map(([name, ...cells]) => [name, cells]));
    const { registry } = createMetrics({
      processMetrics: false,
      registryStats: async () => ({ sessions: 0, subscriptions: 0, activeTopics: 0, activeSymbols: 0, sessionsByWorker: [0], topicProbeSlots: 1 }),
    });
    const metrics = await registry.getMetricsAsJSON();
    for (const m of metrics) {
      // prom-client keeps a metric's declared label names on the metric object; its typings do not show them.
      const declared = (registry.getSingleMetric(m.name) as unknown as { labelNames: string[] }).labelNames;
      expect(table.get('`' + m.name + '`'), m.name).to.deep.equal([
        String(m.type),
        declared.length === 0 ? '—' : declared.map((l) => '`' + l + '`').join(', '),
        m.help,
      ]);
    }
    expect([...table.keys()].filter((name) => !metrics.some((m) => '`' + m.name + '`' === name))).to.deep.equal([]);
  });
});

