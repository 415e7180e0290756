/**
 * Serves the demo page and the browser SDK bundle from `dist/web` and `dist/client`. Files are read once at
 * start-up: the page is tiny, and a request must never wait on disk I/O inside the event loop the data path shares.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { TemplatedApp } from 'uWebSockets.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/** Mounts every file of `dir` at `prefix + name`; `index.html` also answers `prefix`. Returns the paths mounted. */
export function mountStaticDir(app: TemplatedApp, dir: string, prefix: string): string[] {
  if (!existsSync(dir)) return [];
  const mounted: string[] = [];
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type === undefined) continue;
    const body = readFileSync(join(dir, name));
    const serve = (path: string) => {
      app.get(path, (res) => {
        res.writeHeader('content-type', type).writeHeader('cache-control', 'no-cache').end(body);
      });
      mounted.push(path);
    };
    serve(prefix + name);
    if (name === 'index.html') serve(prefix);
  }
  return mounted;
}
