/**
 * Packs the client SDK (src/client) as its own npm package, tickgate-client, at the gateway's version (the root
 * package.json's): `make sdk-pack`, or `node dist/client/pack-sdk.js [outdir]`, writes
 * `<outdir>/tickgate-client-<version>.tgz` (outdir: dist). The package holds:
 *
 *   dist/index.cjs     Node, CommonJS: one bundle of src/client/node.ts; it requires `ws` only where there is no
 *                      global WebSocket (Node < 22), which is why `ws` is its one, optional, dependency
 *   dist/index.mjs     Node, ESM: re-exports index.cjs, so ESM and CommonJS callers share one TickgateError class
 *   dist/browser.mjs   browsers and bundlers (the `browser` condition): the browser bundle, nothing from Node
 *   dist/types/        declarations, emitted by tsc from the same sources
 *   README.md          src/client/README.md
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import * as ts from 'typescript';
import { buildBrowserBundle, forbidImports } from './build-browser';

const SDK_NAME = 'tickgate-client';
const TYPES = './dist/types/client/node.d.ts';

/** The package.json of the SDK package; `root` is the gateway's, whose devDependencies pin the `ws` it is tested with. */
function sdkManifest(root: { version: string; license: string; devDependencies: Record<string, string> }): object {
  return {
    name: SDK_NAME,
    version: root.version,
    description: 'Client SDK for the tickgate market-data WebSocket gateway: Node (ESM and CommonJS) and browsers',
    license: root.license,
    engines: { node: '>=20' },
    main: './dist/index.cjs',
    types: TYPES,
    exports: {
      '.': { types: TYPES, browser: './dist/browser.mjs', import: './dist/index.mjs', require: './dist/index.cjs' },
      './package.json': './package.json',
    },
    files: ['dist', 'README.md'],
    sideEffects: false,
    // Needed only where there is no global WebSocket (Node 20 and 21): `npm install --omit=optional` leaves it out.
    optionalDependencies: { ws: `^${root.devDependencies.ws}` },
  };
}

function emitDeclarations(repo: string, outDir: string): void {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(repo, 'tsconfig.json'), {}, {
    ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); },
  });
  if (!config) throw new Error('cannot read tsconfig.json');
  const program = ts.createProgram([path.join(repo, 'src/client/node.ts')], {
    ...config.options, outDir, declaration: true, emitDeclarationOnly: true, sourceMap: false, incremental: false,
  });
  const result = program.emit();
  const problems = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
  if (problems.length > 0) throw new Error(ts.formatDiagnostics(problems, { ...ts.sys, getCanonicalFileName: (f) => f, getNewLine: () => '\n' }));
}

/** Builds the package in a temporary directory and packs it into `outDir`; returns the tarball's path. */
export async function packSdk(repo: string, outDir = path.join(repo, 'dist')): Promise<string> {
  const root = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8'));
  const stage = mkdtempSync(path.join(tmpdir(), 'tickgate-client-'));
  try {
    const dist = path.join(stage, 'dist');
    await build({
      entryPoints: [path.join(repo, 'src/client/node.ts')],
      outfile: path.join(dist, 'index.cjs'),
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      sourcemap: true,
      logLevel: 'warning',
      external: ['ws'],
      plugins: [forbidImports('the Node SDK', ['lz4-napi'])],
    });
    // Named, not `export *`: Node cannot list a CommonJS module's exports for ESM reliably, so they are read here.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle just written, loaded to list it
    const names = Object.keys(require(path.join(dist, 'index.cjs')) as object).sort();
    writeFileSync(path.join(dist, 'index.mjs'), `import sdk from './index.cjs';\n\nexport const { ${names.join(', ')} } = sdk;\n`);
    await buildBrowserBundle(repo, path.join(dist, 'browser.mjs'));
    emitDeclarations(repo, path.join(dist, 'types'));
    writeFileSync(path.join(stage, 'package.json'), JSON.stringify(sdkManifest(root), null, 2) + '\n');
    copyFileSync(path.join(repo, 'src/client/README.md'), path.join(stage, 'README.md'));
    mkdirSync(outDir, { recursive: true });
    const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', path.resolve(outDir)], { cwd: stage, encoding: 'utf8' });
    return path.join(path.resolve(outDir), (JSON.parse(out) as { filename: string }[])[0].filename);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (require.main === module) {
  // dist/client/pack-sdk.js → the repository root, two levels up.
  packSdk(path.resolve(__dirname, '../..'), process.argv[2]).then(
    (file) => console.log(`wrote ${file}`),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
