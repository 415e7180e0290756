import { expect } from 'chai';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { packSdk } from '../../src/client/pack-sdk';
import { launchChromium } from '../helpers/browser';
import { metricValue, repoRoot, waitUntil } from '../helpers/gateway';
import { track } from '../helpers/processes';
import { tickFields } from '../helpers/redis';
import { Stack, startStack, stopStack } from '../helpers/stack';

const run = promisify(execFile);
const ROOT = repoRoot();
/** The URL the README's examples connect to; each run points it at the test's gateway. */
const README_URL = 'ws://localhost:9001/v1/stream';
const SYMBOLS = ['BTC-USD', 'ETH-USD'];
/** The example apps' files, by the name each README example starts with (`// app.mjs`). */
const EXAMPLES = ['app.mjs', 'app.cjs', 'app.ts'];

/** The code blocks of src/client/README.md that start with a `// <file>` line, by file name. */
function readmeExamples(): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'src/client/README.md'), 'utf8');
  const blocks = new Map<string, string>();
  for (const m of readme.matchAll(/^```(?:js|ts)\n\/\/ (\S+)\n([\s\S]*?)^```$/gm)) blocks.set(m[1], m[2]);
  return blocks;
}

describe('tickgate-client package (make sdk-pack), installed into an empty app', function () {
  this.timeout(120_000);
  let work: string;
  let app: string;
  let tarball: string;
  let stack: Stack;
  let browser: Browser | undefined;
  /** The example app's web server, on another origin than the gateway's: `/` loads `/app.js` (the bundle), `/blank` nothing. */
  let appServer: Server;
  let appOrigin: string;
  let appBundle = '';

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'tickgate-sdk-app-'));
    tarball = await packSdk(ROOT, work);
    app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'sdk-app', private: true, type: 'module' }));
    // ws comes from npm's cache when it is there (this machine has no internet, only a registry).
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: app });
    const examples = readmeExamples();
    for (const file of EXAMPLES) {
      const code = examples.get(file);
      expect(code, `a README example starting with // ${file}`).to.be.a('string');
      expect(code).to.contain(README_URL);
      writeFileSync(join(app, file), code!);
    }
    stack = await startStack();
    appServer = createServer((req, res) => {
      const script = req.url === '/app.js';
      res.writeHead(200, { 'content-type': script ? 'text/javascript' : 'text/html' });
      if (script) res.end(appBundle);
      else res.end(`<!doctype html><title>app</title>${req.url === '/' ? '<script type="module" src="/app.js"></script>' : ''}`);
    });
    await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
    appOrigin = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;
  });

  after(async () => {
    await browser?.close();
    appServer?.close();
    if (stack) await stopStack(stack);
    rmSync(work, { recursive: true, force: true });
  });

  /** Writes ticks of SYMBOLS every 20 ms until `body` settles. */
  async function whileTicking<T>(body: () => Promise<T>): Promise<T> {
    let i = 0;
    const timer = setInterval(() => void stack.producer.xAdd('ticks', '*', tickFields(SYMBOLS[i % 2], i++)), 20);
    try {
      return await body();
    } finally {
      clearInterval(timer);
    }
  }

  /**
   * Runs an example of `dir` (with the test gateway's URL) under node with `nodeFlags` while ticks flow, and
   * resolves with what it printed once it exits by itself; the gateway must have published frames in bin+lz4.
   */
  async function runExample(file: string, dir = app, nodeFlags: string[] = []): Promise<string[]> {
    const runnable = join(dir, `run-${file}`);
    writeFileSync(runnable, readFileSync(join(dir, file), 'utf8').replace(README_URL, stack.gw.url));
    const before = await metricValue(stack.gw.http, 'tickgate_frames_published_total', { format: 'bin+lz4' });
    const out = await whileTicking(() => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = track(spawn(process.execPath, [...nodeFlags, runnable], { cwd: dir }));
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d));
      child.stderr!.on('data', (d: Buffer) => (stderr += d));
      const timeout = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('exit', (code) => {
        clearTimeout(timeout);
        resolve({ code, stdout, stderr });
      });
    }));
    expect(out.stderr, `${file} stderr`).to.equal('');
    expect(out.code, `${file} exit code`).to.equal(0);
    expect(await metricValue(stack.gw.http, 'tickgate_frames_published_total', { format: 'bin+lz4' }), 'bin+lz4 frames published')
      .to.be.greaterThan(before);
    return out.stdout.trim().split('\n');
  }

  /** At least 10 lines `sym id px sz`, each a tick of the stream as written, in stream order per symbol. */
  async function expectStreamTicks(lines: string[]): Promise<void> {
    const entries = new Map((await stack.producer.xRange('ticks', '-', '+')).map((e) => [e.id, e.message]));
    expect(lines.length).to.be.at.least(10);
    const seen: string[][] = SYMBOLS.map(() => []);
    for (const line of lines) {
      const [sym, id, px, sz] = line.split(' ');
      expect(entries.get(id), line).to.deep.include({ sym, px, sz });
      seen[SYMBOLS.indexOf(sym)].push(id);
    }
    const byStreamOrder = (ids: string[]) => [...ids].sort((a, b) => {
      const [am, as] = a.split('-').map(Number);
      const [bm, bs] = b.split('-').map(Number);
      return am - bm || as - bs;
    });
    for (const ids of seen) expect(ids).to.deep.equal(byStreamOrder([...new Set(ids)]));
  }

  it('installs as two packages: tickgate-client and its optional dependency ws', () => {
    const lock = JSON.parse(readFileSync(join(app, 'node_modules/.package-lock.json'), 'utf8')) as { packages: Record<string, { optional?: boolean }> };
    expect(Object.keys(lock.packages).sort()).to.deep.equal(['node_modules/tickgate-client', 'node_modules/ws']);
    expect(lock.packages['node_modules/ws'].optional).to.equal(true);
  });

  it('has the gateway\'s version and an exports map whose import, require, types and browser files are in the package', () => {
    const pkgDir = join(app, 'node_modules/tickgate-client');
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    const gateway = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.version).to.equal(gateway.version);
    expect(tarball).to.equal(join(work, `tickgate-client-${pkg.version}.tgz`));
    expect(Object.keys(pkg.exports['.'])).to.deep.equal(['types', 'browser', 'import', 'require']);
    for (const file of Object.values(pkg.exports['.']) as string[]) expect(existsSync(join(pkgDir, file)), file).to.equal(true);
    expect(Object.keys(pkg.dependencies ?? {})).to.deep.equal([]);
    expect(pkg.optionalDependencies).to.deep.equal({ ws: `^${gateway.devDependencies.ws}` });
  });

  it('gives require() and import the same API: one TickgateError class for both', async () => {
    const check = "const cjs = require('tickgate-client');\n"
      + "import('tickgate-client').then((esm) => console.log(JSON.stringify({ cjs: Object.keys(cjs).sort(), esm: Object.keys(esm).sort(), same: esm.TickgateError === cjs.TickgateError })));\n";
    writeFileSync(join(app, 'check.cjs'), check);
    const { stdout } = await run(process.execPath, ['check.cjs'], { cwd: app });
    const api = ['FrameDecodeError', 'TickgateClient', 'TickgateError', 'connect', 'decodeFrame'];
    expect(JSON.parse(stdout)).to.deep.equal({ cjs: api, esm: api, same: true });
  });

  it('runs the README\'s ESM example as written: live ticks from the gateway in binary + LZ4', async () => {
    await expectStreamTicks(await runExample('app.mjs'));
  });

  it('runs the README\'s CommonJS example as written', async () => {
    await expectStreamTicks(await runExample('app.cjs'));
  });

  it('runs without ws where Node has a global WebSocket: installed with --omit=optional (one package), under --experimental-websocket', async () => {
    const bare = join(work, 'app-without-ws');
    mkdirSync(bare);
    writeFileSync(join(bare, 'package.json'), JSON.stringify({ name: 'sdk-app-without-ws', private: true, type: 'module' }));
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--omit=optional', tarball], { cwd: bare });
    const lock = JSON.parse(readFileSync(join(bare, 'node_modules/.package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    expect(Object.keys(lock.packages)).to.deep.equal(['node_modules/tickgate-client']);
    writeFileSync(join(bare, 'app.mjs'), readFileSync(join(app, 'app.mjs')));
    // Node 22+ has the global by default; on Node 20 the flag adds it (ws is absent, so it must be the one used).
    await expectStreamTicks(await runExample('app.mjs', bare, ['--experimental-websocket']));
  });

  it('type-checks the README\'s TypeScript example under --module nodenext, and runs what tsc emits', async () => {
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    // A CommonJS TypeScript file of the same app: the `types` condition must serve require() under nodenext too.
    writeFileSync(join(app, 'check.cts'), "import { connect, type ClientOptions } from 'tickgate-client';\n\n"
      + "const options: ClientOptions = { format: 'binary', compression: 'lz4' };\nexport const open = (url: string) => connect(url, options);\n");
    const result = await run(process.execPath, [tsc, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--strict', 'app.ts', 'check.cts'], { cwd: app }).catch((err: { stdout: string }) => ({ stdout: err.stdout }));
    expect(result.stdout, 'tsc errors').to.equal('');
    await expectStreamTicks(await runExample('app.js'));
  });

  it('bundles the README\'s ESM example for browsers with esbuild (the `browser` build, no ws) and runs it in Chromium', async () => {
    const bundle = await build({
      stdin: { contents: readFileSync(join(app, 'app.mjs'), 'utf8').replace(README_URL, stack.gw.url), resolveDir: app, sourcefile: 'app.mjs' },
      bundle: true, write: false, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'silent',
    });
    appBundle = bundle.outputFiles[0].text;
    expect(appBundle).to.not.match(/require\(|["']ws["']/);
    browser = await launchChromium();
    const page = await browser.newPage();
    const lines: string[] = [];
    const errors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'log') lines.push(msg.text());
      else if (msg.type() === 'error') errors.push(msg.text());
    });
    page.on('pageerror', (err) => errors.push(err.message));
    await whileTicking(async () => {
      await page.goto(`${appOrigin}/`);
      await waitUntil('10 ticks logged by the page', () => lines.length >= 10 || errors.length > 0, 30_000);
    });
    expect(errors).to.deep.equal([]);
    await expectStreamTicks(lines);
  });

  it('lets a page on another origin import the bundle the gateway serves (CORS)', async () => {
    browser ??= await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${appOrigin}/blank`);
    // A string, not a function: tsc's CommonJS output would turn import() into require().
    const names = await page.evaluate(`import('${stack.gw.http}/client/tickgate-client.mjs').then((m) => Object.keys(m).sort())`);
    expect(names).to.deep.equal(['FrameDecodeError', 'TickgateClient', 'TickgateError', 'connect', 'decodeFrame']);
  });
});

describe('tickgate package (npm pack of the gateway)', () => {
  it('ships the built gateway, its served page and SDK bundle, and its main: no tests, sources, source maps, benchmarks or build scripts', () => {
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' }));
    const files = (packed.files as { path: string }[]).map((f) => f.path);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(files).to.include.members([pkg.main, pkg.types, pkg.bin.tickgate, 'dist/client/tickgate-client.mjs', 'dist/web/index.html', 'dist/web/app.js']);
    expect(pkg.exports['.']).to.deep.equal({ types: `./${pkg.types}`, default: `./${pkg.main}` });
    expect(files.filter((f) => !f.startsWith('dist/') && f !== 'package.json' && f !== 'README.md')).to.deep.equal([]);
    expect(files.filter((f) => /\.spec\.|\.map$|\.tgz$|^dist\/(bench|web\/build|web\/page)\/|^dist\/client\/.*\.js$/.test(f))).to.deep.equal([]);
  });
});
