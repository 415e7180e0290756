import { expect } from 'chai';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { repoRoot } from '../helpers/gateway';

/**
 * The layering of src/ as `make lint` enforces it (.eslint.config.mjs). Each case lints a module that does not exist,
 * as if it sat at `path`, so a rule that stopped matching (a renamed folder, a broken pattern) fails here rather than
 * letting violations in silently.
 */
describe('lint: the import boundaries between the folders of src/', () => {
  let eslint: ESLint;
  before(async function () {
    this.timeout(60_000); // loading the config and typescript-eslint's parser takes seconds on a busy machine
    eslint = new ESLint({ cwd: repoRoot(), overrideConfigFile: join(repoRoot(), '.eslint.config.mjs') });
    await eslint.calculateConfigForFile(join(repoRoot(), 'src/wire/tick.ts'));
  });

  /** The rules `source`, placed at `path` (relative to the repository), breaks. */
  async function broken(path: string, source: string): Promise<string[]> {
    const [result] = await eslint.lintText(source, { filePath: join(repoRoot(), path) });
    return result.messages.map((m) => m.ruleId ?? m.message);
  }

  const SERVER_SIDE = ['server/app', 'ingest/fanout', 'registry/registry', 'metrics/metrics', 'producer/producer', 'bench/run', 'demo/demo'];

  for (const folder of ['wire', 'client', 'protocol']) {
    it(`refuses an import of any server-side folder from src/${folder}`, async () => {
      for (const target of SERVER_SIDE) {
        expect(await broken(`src/${folder}/planted.ts`, `import { x } from '../${target}';\nexport const y = x;\n`), target)
          .to.deep.equal(['no-restricted-imports']);
      }
    });
  }

  it('refuses type-only imports and re-exports across a boundary too, and from files nested deeper', async () => {
    expect(await broken('src/wire/planted.ts', "import type { X } from '../server/app';\nexport type Y = X;\n")).to.deep.equal(['no-restricted-imports']);
    expect(await broken('src/client/planted.ts', "export { x } from '../ingest/fanout';\n")).to.deep.equal(['no-restricted-imports']);
    expect(await broken('src/protocol/deeper/planted.ts', "import { x } from '../../server/app';\nexport const y = x;\n"))
      .to.deep.equal(['no-restricted-imports']);
  });

  for (const folder of ['metrics', 'registry']) {
    it(`refuses any import from outside src/${folder}, which is a leaf`, async () => {
      for (const target of ['log', 'config', 'wire/tick', folder === 'metrics' ? 'registry/registry' : 'metrics/metrics']) {
        expect(await broken(`src/${folder}/planted.ts`, `import { x } from '../${target}';\nexport const y = x;\n`), target)
          .to.deep.equal(['no-restricted-imports']);
      }
    });
  }

  it('refuses src/ingest from src/producer', async () => {
    expect(await broken('src/producer/planted.ts', "import { x } from '../ingest/reader';\nexport const y = x;\n")).to.deep.equal(['no-restricted-imports']);
  });

  it('allows the imports the layering allows', async () => {
    const allowed: [string, string][] = [
      ['src/client/planted.ts', '../wire/frame'], ['src/client/planted.ts', '../protocol/gap'], ['src/protocol/planted.ts', '../wire/tick'],
      ['src/wire/planted.ts', './tick'], ['src/metrics/planted.ts', './metrics'], ['src/registry/planted.ts', './registry'],
      ['src/producer/planted.ts', '../redis'], ['src/ingest/catchup/planted.ts', '../../redis'], ['src/server/planted.ts', '../ingest/fanout'],
      ['src/wire/planted.ts', 'node:fs'], ['src/metrics/planted.ts', 'prom-client'],
    ];
    for (const [path, target] of allowed) {
      expect(await broken(path, `import { x } from '${target}';\nexport const y = x;\n`), `${path} → ${target}`).to.deep.equal([]);
    }
  });
});
