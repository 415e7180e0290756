/**
 * Bundles the browser SDK (src/client/browser.ts) into one ESM file, dist/client/tickgate-client.mjs.
 * Run from the repository root: `node dist/client/build-browser.js [outfile]`.
 *
 * `ws` and lz4-napi are Node-only; marking them external would let a stray import through silently, so the build
 * fails instead if either is reachable from the browser entry.
 */
import { build, Plugin } from 'esbuild';
import * as path from 'path';

/** Fails the build when `ws` or lz4-napi is reachable from a browser entry; `target` names the bundle in the error. */
export function nodeOnlyGuard(target: string): Plugin {
  return {
    name: 'node-only-guard',
    setup(b) {
      b.onResolve({ filter: /^(ws|lz4-napi)$/ }, (args) => ({
        errors: [{ text: `${args.path} is Node-only and must not reach ${target} (imported by ${args.importer})` }],
      }));
    },
  };
}

export async function buildBrowserBundle(root = process.cwd(), outfile = path.join(root, 'dist/client/tickgate-client.mjs')): Promise<string> {
  await build({
    entryPoints: [path.join(root, 'src/client/browser.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    sourcemap: true,
    logLevel: 'warning',
    plugins: [nodeOnlyGuard('the browser bundle')],
  });
  return outfile;
}

if (require.main === module) {
  buildBrowserBundle(process.cwd(), process.argv[2]).then(
    (file) => console.log(`wrote ${file}`),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
