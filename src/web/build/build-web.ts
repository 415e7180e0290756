/**
 * Builds the demo page into dist/web: bundles src/web/page/app.ts (with the browser SDK) into dist/web/app.js and
 * copies index.html, style.css and favicon.svg next to it. Run from anywhere: `node dist/web/build/build-web.js`.
 *
 * The gateway serves every top-level file of dist/web, so only the page goes there; this script and tsc's own
 * output for src/web/page land in subfolders, which static-files.ts does not serve.
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { forbidImports } from '../../client/build-browser';

const ASSETS = ['index.html', 'style.css', 'favicon.svg'];

export async function buildWeb(root: string, outdir = path.join(root, 'dist/web')): Promise<string[]> {
  const page = path.join(root, 'src/web/page');
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: [path.join(page, 'app.ts')],
    outfile: path.join(outdir, 'app.js'),
    bundle: true,
    // An IIFE loads with a plain <script defer>: no module graph, nothing to resolve at runtime.
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
    plugins: [forbidImports('the demo page')],
  });
  for (const name of ASSETS) copyFileSync(path.join(page, name), path.join(outdir, name));
  return ['app.js', 'app.js.map', ...ASSETS].map((name) => path.join(outdir, name));
}

if (require.main === module) {
  // dist/web/build/build-web.js → the repository root, three levels up.
  buildWeb(path.resolve(__dirname, '../../..')).then(
    (files) => console.log(`wrote ${files.join(', ')}`),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
