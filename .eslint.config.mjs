// ESLint (flat config), run by `make lint` and so by `make test`. A dotfile because the top level holds only the
// project's fixed set of entries; the Makefile and test/unit/lint-boundaries.spec.ts name it with --config.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * The layering, as rules: a module of `folder` may not import from `forbidden` (folders under src/). Specifiers are
 * matched as written, `../` repeated any number of times then the folder, so a file nested deeper in `folder` is held
 * to the same rule; `import type` and `export ... from` count too.
 */
function layer(folder, forbidden, why) {
  return {
    files: [`src/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ regex: `^(\\.\\./)+(${forbidden.join('|')})(/|$)`, message: why }],
      }],
    },
  };
}

/** A leaf imports nothing of the project: every specifier that leaves its own folder is refused. */
function leaf(folder, why) {
  return {
    files: [`src/${folder}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./', message: why }] }] },
  };
}

const SERVER_SIDE = ['server', 'ingest', 'registry', 'metrics', 'producer', 'bench', 'demo'];

export default defineConfig(
  { ignores: ['dist/**', '.build/**', 'node_modules/**'] },
  // A disable comment that no longer suppresses anything is an error, so none outlives its reason.
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  tseslint.configs.recommended,
  layer('wire', SERVER_SIDE, 'src/wire is shared with the browser SDK: it imports nothing of the server side.'),
  layer('client', SERVER_SIDE, 'src/client is the SDK: it imports only src/wire and src/protocol.'),
  layer('protocol', SERVER_SIDE, 'src/protocol is shared with the SDK: it imports nothing of the server side.'),
  layer('producer', ['ingest'], 'src/producer writes to Redis and must not depend on how the gateway reads it.'),
  leaf('streams', 'src/streams is the stream layout producers and gateways share: pure, it imports nothing of the project.'),
  leaf('metrics', 'src/metrics is a leaf: it defines what it reads as its own types, and callers pass them in.'),
  leaf('registry', 'src/registry is a leaf: it imports nothing of the project.'),
);
