/**
 * Bundles the browser SDK (src/client/browser.ts) into one ESM file, dist/client/tickgate-client.mjs.
 * Run from the repository root: `node dist/client/build-browser.js [outfile]`.
 *
 * `ws` and lz4-napi are Node-only; marking them external would let a stray import through silently, so the build
 * fails instead if either is reachable from the browser entry.
 */
import { build, Plugin } from 'esbuild';
import * as path from 'path';

/** The packages that exist only for Node: neither may reach a browser bundle. */
const NODE_ONLY = ['ws', 'lz4-napi'];

/** Fails the build when one of `modules` is reachable from its entry; `target` names the bundle in the error. */
export function forbidImports(target: string, modules: readonly string[] = NODE_ONLY): Plugin {
  return {
    name: 'forbid-imports',
    setup(b) {
      b.onResolve({ filter: new RegExp(`^(${modules.join('|')})$`) }, (args) => ({
        errors: [{ text: `${args.path} must not reach ${target} (imported by ${args.importer})` }],
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
    plugins: [forbidImports('the browser bundle')],
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
