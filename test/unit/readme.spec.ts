import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { COMMANDS, Command, OptionDoc, optionDocs } from '../../src/config';
import { CLOSE_CODES, ERROR_CODES } from '../../src/protocol/codes';
import { repoRoot } from '../helpers/gateway';

const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');

/** The text of the section under `heading` (a whole line), up to the next heading of any level. */
function section(heading: string): string {
  const lines = readme.split('\n');
  const start = lines.indexOf(heading);
  expect(start, `README heading ${heading}`).to.be.greaterThan(-1);
  const end = lines.findIndex((l, i) => i > start && /^#{1,6} /.test(l));
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
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
});
