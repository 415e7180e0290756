/**
 * Serves the demo page (`dist/web`) and the browser SDK bundle (`dist/client`). Files are read once at start-up:
 * the page is tiny, and a request must never wait on disk I/O inside the event loop the data path shares.
 *
 * Only what a browser needs is served: page assets by type, and the SDK bundle by name. Source maps, the SDK's
 * CommonJS modules and the build scripts next to them (dist/web/build, dist/client/build-browser.js) are not.
 * Every file is served with CORS headers (see corsHeaders), so a page on another origin can import the SDK bundle.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { TemplatedApp } from 'uWebSockets.js';
import { originAllowed } from './auth';
import { getAndHead, send } from './http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The browser SDK bundle src/client/build-browser.ts writes into dist/client. */
export const SDK_BUNDLE = 'tickgate-client.mjs';

/**
 * The CORS headers of a static file for a request from `origin` (empty: no Origin header), following
 * `--allowed-origins` (`allowed`): any origin when it is empty; otherwise the request's own Origin, and only when
 * it is allowed. An `import` of the bundle from a module script is a CORS request: without a matching
 * Access-Control-Allow-Origin the browser refuses it. With a list the answer depends on Origin, so `Vary: Origin`
 * keeps caches from handing one origin's answer to another.
 */
export function corsHeaders(origin: string, allowed: readonly string[]): [name: string, value: string][] {
  if (allowed.length === 0) return [['access-control-allow-origin', '*']];
  const headers: [string, string][] = [['vary', 'Origin']];
  if (origin !== '' && originAllowed(origin, allowed)) headers.push(['access-control-allow-origin', origin]);
  return headers;
}

/**
 * Mounts the files of `dir` that `serves` accepts (and that have a type above) at `prefix + name`, for GET and
 * HEAD, with CORS headers for `allowedOrigins`; `index.html` also answers `prefix`. Subdirectories are never
 * mounted. Returns the paths mounted.
 */
export function mountStaticDir(app: TemplatedApp, dir: string, prefix: string, serves: (name: string) => boolean,
  allowedOrigins: readonly string[]): string[] {
  if (!existsSync(dir)) return [];
  const mounted: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const type = TYPES[extname(entry.name)];
    if (!entry.isFile() || type === undefined || !serves(entry.name)) continue;
    const body = readFileSync(join(dir, entry.name));
    const serve = (path: string) => {
      getAndHead(app, path, (res, head, req) => {
        res.writeHeader('content-type', type).writeHeader('cache-control', 'no-cache');
        for (const [name, value] of corsHeaders(req.getHeader('origin'), allowedOrigins)) res.writeHeader(name, value);
        send(res, body, head);
      });
      mounted.push(path);
    };
    serve(prefix + entry.name);
    if (entry.name === 'index.html') serve(prefix);
  }
  return mounted;
}
