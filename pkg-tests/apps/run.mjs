// Drives the apps built from the packed hoviat tarball (installed here by scripts/pkg-tests.sh):
// Vite and webpack production builds served on 127.0.0.1 under a strict CSP and run in
// headless Chromium (verdicts, virtual card, recovery after INTERNAL_PANIC), a stricter CSP
// (no 'wasm-unsafe-eval'), the same page under vite dev, what a minimal page's build carries, Vite SSR with noExternal,
// Node ESM + CJS sharing one instance, TypeScript strict (nodenext, node16), attw, Jest and Vitest jsdom.
// Prints "ok NAME" / "FAIL NAME: why" and "apps: N failed".
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const tarball = process.argv[2];
const cases = JSON.parse(readFileSync(path.join(here, '..', 'cases.json'), 'utf8'));
const pkgWeb = path.join(here, 'node_modules', 'hoviat', 'web');
let failed = 0;
const ok = (n) => console.log(`ok ${n}`);
const fail = (n, why) => { failed++; console.log(`FAIL ${n}: ${String(why).slice(0, 600)}`); };
const check = (cond, n, why) => (cond ? ok(n) : fail(n, why));
const bin = (name) => path.join(here, 'node_modules', '.bin', name);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
const verdict = (v) => (v.ok ? `ok ${v.nationalCode}` : `error ${v.code}`);
const sameVerdicts = (rows) => rows.filter((r) => verdict(r.got) !== verdict(r.native));

async function files(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(path.join(e.parentPath ?? e.path, e.name));
  return out;
}

// ---- builds ---------------------------------------------------------------------------------
const built = {};
for (const app of ['vite', 'vite-min', 'vite-shake', 'ssr']) {
  try {
    const out = run(bin('vite'), ['build', '--config', path.join(here, app, 'vite.config.js')]);
    built[app] = true;
    check(!/top-level await/i.test(out), `${app}: vite build, no top-level-await warning`, out);
  } catch (e) {
    fail(`${app}: vite build`, (e.stderr || '') + (e.stdout || ''));
  }
}
try {
  const { default: webpack } = await import(pathToFileURL(path.join(here, 'node_modules', 'webpack', 'lib', 'index.js')).href);
  const { default: config } = await import(pathToFileURL(path.join(here, 'webpack', 'webpack.config.js')).href);
  const stats = await new Promise((resolve, reject) => webpack(config, (err, s) => (err ? reject(err) : resolve(s))));
  const j = stats.toJson({ all: false, errors: true, warnings: true, assets: true });
  if (j.errors.length) throw new Error(j.errors.map((e) => e.message).join('\n'));
  built.webpack = true;
  ok('webpack: production build');
  const big = j.warnings.filter((w) => /size limit/i.test(w.message));
  // Not a failure yet: the lite wasm itself is over webpack's 244 KiB hint until the size-first build.
  console.log(`note webpack: ${big.length ? big.map((w) => w.message.replace(/\s+/g, ' ')).join(' | ') : 'no asset size limit warning'}`);
  const { copyFileSync } = await import('node:fs');
  copyFileSync(path.join(here, 'webpack', 'index.html'), path.join(here, 'webpack', 'dist', 'index.html'));
} catch (e) {
  fail('webpack: production build', e.message);
}

// ---- what the minimal pages carry -------------------------------------------------------------
const testkit = readFileSync(path.join(pkgWeb, 'testkit.wasm'));
async function carried(app) {
  const all = await files(path.join(here, app, 'dist'));
  const wasm = all.filter((f) => f.endsWith('.wasm'));
  const hasTestkit = wasm.some((f) => readFileSync(f).equals(testkit));
  const js = all.filter((f) => f.endsWith('.js')).map((f) => readFileSync(f, 'utf8')).join('\n');
  return { wasm: wasm.map((f) => path.basename(f)), hasTestkit, virtualInJs: /VirtualCard|testkit/.test(js) };
}
if (built['vite-min']) {
  const c = await carried('vite-min');
  const { gzipSync } = await import('node:zlib');
  const all = await files(path.join(here, 'vite-min', 'dist'));
  const gz = (fs) => fs.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0);
  const entryJs = all.filter((f) => /index-.*\.js$/.test(f));
  const lite = all.filter((f) => /lite-.*\.wasm$/.test(f));
  console.log(`note vite-min: what the page loads to verify: JS ${gz(entryJs)} B, wasm ${gz(lite)} B (zlib level 9; GNU gzip -9 packs a little tighter) (${entryJs.map((f) => path.basename(f))})`);
  check(!c.hasTestkit && !c.virtualInJs, `vite: a page importing only verifyToken carries no virtual-card wasm or glue (wasm emitted: ${c.wasm.join(', ')})`, JSON.stringify(c));
}
if (built['vite-shake']) {
  const c = await carried('vite-shake');
  const js = (await files(path.join(here, 'vite-shake', 'dist'))).filter((f) => f.endsWith('.js')).map((f) => readFileSync(f, 'utf8')).join('');
  check(!/VerifyJob|trustStoreNew|initSync/.test(js), `vite: a page importing only HoviatError tree-shakes the API and glue away (JS ${js.length} B)`, JSON.stringify(c));
}

// ---- serve and drive in Chromium ------------------------------------------------------------
const CSP = {
  strict: "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'",
  stricter: "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'",
  // Trusted Types enforced: hoviat creates no script URLs or HTML; the only policy allowed is
  // webpack's own for its chunk loader (output.trustedTypes), Vite needs none.
  tt: "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; require-trusted-types-for 'script'; trusted-types webpack",
};
const types = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm' };
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/favicon.ico') { res.writeHead(204).end(); return; }
  if (url.pathname === '/cases.json') { res.writeHead(200, { 'content-type': 'application/json' }).end(readFileSync(path.join(here, '..', 'cases.json'))); return; }
  // /<csp>/<app>/<file>; /octet/... serves wasm as application/octet-stream (a MIME type left unset)
  const [, csp, app, ...rest] = url.pathname.split('/');
  const root = path.join(here, app || 'x', 'dist');
  const file = path.normalize(path.join(root, rest.join('/') || 'index.html'));
  if (!file.startsWith(root) || !CSP[csp === 'octet' ? 'strict' : csp]) { res.writeHead(404).end(); return; }
  try {
    const body = await readFile(file);
    let type = types[path.extname(file)] || 'application/octet-stream';
    if (csp === 'octet' && type === 'application/wasm') type = 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'content-security-policy': CSP[csp === 'octet' ? 'strict' : csp] }).end(body);
  } catch { res.writeHead(404).end(); }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;
const { chromium } = createRequire(path.join(here, '..', 'package.json'))('playwright-core');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
async function drive(url) {
  const page = await browser.newPage();
  const errors = [];
  const requests = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await page.goto(url);
  await page.waitForFunction(() => window.__results !== undefined, null, { timeout: 120_000 });
  const r = await page.evaluate(() => window.__results);
  await page.close();
  return { r, errors, requests };
}
try {
  for (const app of ['vite', 'webpack']) {
    if (!built[app]) continue;
    for (const mode of ['strict', 'octet', 'tt']) {
      const label = mode === 'strict' ? `${app} under CSP script-src 'self' 'wasm-unsafe-eval'`
        : mode === 'tt' ? `${app} under CSP with Trusted Types required` : `${app}, wasm served as application/octet-stream`;
      const { r, errors } = await drive(`${base}/${mode}/${app}/`);
      if (r.fatal) { fail(label, r.fatal); continue; }
      const bad = sameVerdicts(r.cases);
      check(r.cases.length >= 30 && bad.length === 0, `${label}: ${r.cases.length - bad.length}/${r.cases.length} verdicts equal to native`, JSON.stringify(bad.slice(0, 3)));
      if (mode === 'tt') {
        check(r.checks.virtual === 'ok' && r.checks.wasmBackend === 'ok' && r.checks.verifyAfterPanic2 === 'ok',
          `${app} with Trusted Types required: virtual card (its chunk and wasm), backend 'wasm', recovery`, JSON.stringify(r.checks));
        check(errors.length === 0, `${app} with Trusted Types required: no uncaught page errors or CSP violations`, errors.join(' | '));
      }
      if (mode !== 'strict') continue;
      const k = r.checks;
      check(k.beforeInit === 'NOT_READY', `${app}: nothing loads at import; createNonce before init is NOT_READY`, k.beforeInit);
      check(k.mainVirtual === 'TRANSPORT_UNAVAILABLE', `${app}: the main entry has no virtual card`, k.mainVirtual);
      check(k.virtual === 'ok' && k.wasmBackend === 'ok', `${app}: hoviat/virtual card token verifies (webcrypto and wasm backends)`, JSON.stringify(k));
      check(k.panic1 === 'INTERNAL_PANIC' && k.panic2 === 'INTERNAL_PANIC', `${app}: a panic is a HoviatError INTERNAL_PANIC`, JSON.stringify(k));
      check(k.nonceAfterPanic1 === 44 && k.verifyAfterPanic1 === 'ok' && k.nonceAfterPanic2 === 44 && k.verifyAfterPanic2 === 'ok',
        `${app}: recovers after INTERNAL_PANIC (twice; sync and async calls)`, JSON.stringify(k));
      check(errors.length === 0, `${app}: no uncaught page errors or CSP violations`, errors.join(' | '));
    }
  }
  if (built.vite) {
    const { r, errors, requests } = await drive(`${base}/stricter/vite/?blocked`);
    check(r.checks.blocked === 'WASM_UNAVAILABLE' && r.checks.blockedAgain === 'WASM_UNAVAILABLE' && /wasm-unsafe-eval/.test(r.checks.blockedMessage),
      "vite under CSP script-src 'self' (no 'wasm-unsafe-eval'): WASM_UNAVAILABLE naming the directive", JSON.stringify(r.checks));
    check(!errors.some((e) => !/Content Security Policy|WebAssembly/i.test(e)) && !r.fatal, 'stricter CSP: no uncaught error', errors.join(' | ') + (r.fatal || ''));
    check(!requests.some((p) => /testkit|core/.test(p)), 'stricter CSP page fetched no other wasm', requests.join(' '));
  }
  // vite dev (Vite 8, no configuration: no optimizeDeps.exclude): the dependency optimizer
  // rewrites the new URL('./lite.wasm', import.meta.url) to the package's file.
  let dev = null;
  const devCache = path.join(here, 'node_modules', '.vite-dev-test');
  try {
    const { rmSync } = await import('node:fs');
    rmSync(devCache, { recursive: true, force: true }); // a fresh optimizer cache for this tarball
    const { createServer } = await import('vite');
    dev = await createServer({
      configFile: false, root: path.join(here, 'page'), logLevel: 'warn', cacheDir: devCache,
      server: { host: '127.0.0.1', port: 0 },
      plugins: [{ name: 'cases', configureServer(s) {
        s.middlewares.use('/cases.json', (_req, res) => { res.setHeader('content-type', 'application/json'); res.end(readFileSync(path.join(here, '..', 'cases.json'))); });
        s.middlewares.use('/favicon.ico', (_req, res) => { res.statusCode = 204; res.end(); });
      } }],
    });
    await dev.listen();
    const { r, errors, requests } = await drive(dev.resolvedUrls.local[0]);
    if (r.fatal) throw new Error(r.fatal);
    const bad = sameVerdicts(r.cases);
    const k = r.checks;
    check(r.cases.length >= 30 && bad.length === 0 && k.virtual === 'ok' && k.wasmBackend === 'ok',
      `vite dev (no optimizeDeps config): ${r.cases.length - bad.length}/${r.cases.length} verdicts equal to native, virtual card on both backends`, JSON.stringify({ bad: bad.slice(0, 3), k }));
    check(k.panic2 === 'INTERNAL_PANIC' && k.nonceAfterPanic2 === 44 && k.verifyAfterPanic2 === 'ok', 'vite dev: recovers after INTERNAL_PANIC', JSON.stringify(k));
    check(errors.length === 0, 'vite dev: no uncaught page errors', errors.join(' | '));
    console.log(`note vite dev: wasm fetched from ${requests.filter((p) => p.endsWith('.wasm')).join(' ')}`);
  } catch (e) {
    fail('vite dev', (e && e.stack) || e);
  } finally {
    if (dev) await dev.close();
  }
} finally {
  await browser.close();
  server.close();
}

// ---- Vite SSR with noExternal ---------------------------------------------------------------
if (built.ssr) {
  const entry = path.join(here, 'ssr', 'dist', 'entry-server.js');
  const src = readFileSync(entry, 'utf8');
  check(/trustStoreNew|VerifyJob/.test(src), 'ssr: hoviat is bundled into the server entry (noExternal)', 'hoviat not inlined');
  const probe = `import(${JSON.stringify(pathToFileURL(entry).href)}).then(async (m) => {
    const cases = JSON.parse(require('node:fs').readFileSync(${JSON.stringify(path.join(here, '..', 'cases.json'))}, 'utf8'));
    const bytes = process.argv[1] === 'bytes' ? require('node:fs').readFileSync(${JSON.stringify(path.join(pkgWeb, 'core.wasm'))}) : undefined;
    const rows = await m.run(cases, bytes);
    const v = (x) => (x.ok ? 'ok ' + x.nationalCode : 'error ' + x.code);
    const bad = rows.filter((r) => v(r.got) !== v(r.native));
    console.log(JSON.stringify({ n: rows.length, bad: bad.slice(0, 2), nc: process.argv[1] === 'bytes' ? null : await m.virtualRoundTrip() }));
  })`;
  for (const [label, cwd, arg] of [['run in the app', path.join(here, 'ssr'), 'plain'], ['run elsewhere with init({ wasm: bytes })', '/tmp', 'bytes']]) {
    try {
      const out = JSON.parse(run(process.execPath, ['-e', probe, arg], { cwd }).trim().split('\n').pop());
      check(out.n === cases.length && out.bad.length === 0 && (arg === 'bytes' || /^\d{10}$/.test(out.nc)), `ssr (noExternal): ${label}: ${out.n} verdicts equal to native`, JSON.stringify(out));
    } catch (e) {
      fail(`ssr (noExternal): ${label}`, (e.stderr || e.message));
    }
  }
}

// ---- Node: ESM and CJS share one instance -----------------------------------------------------
try {
  const out = run(process.execPath, ['--input-type=module', '-e', `
    import * as esm from 'hoviat';
    import { createRequire } from 'node:module';
    const cjs = createRequire(process.cwd() + '/x.js')('hoviat');
    let cross = false;
    try { await cjs.verifyToken('{', { origin: 'https://a.ir', nonce: 'n', trustAnchors: 'x' }); } catch (e) { cross = e instanceof esm.HoviatError; }
    let panic = '';
    try { esm.__panicForTest(); } catch (e) { panic = (e instanceof cjs.HoviatError) + ':' + e.code; }
    console.log(JSON.stringify({ same: esm.HoviatError === cjs.HoviatError && esm.verifyToken === cjs.verifyToken, cross, panic, nonce: cjs.createNonce().length }));`]);
  const r = JSON.parse(out.trim());
  check(r.same && r.cross && r.panic === 'true:INTERNAL_PANIC' && r.nonce === 44, 'node: ESM and CJS are one copy (instanceof HoviatError across both, one wasm instance)', out);
} catch (e) {
  fail('node: ESM and CJS one copy', e.stderr || e.message);
}

// ---- TypeScript, attw, Jest ------------------------------------------------------------------
for (const m of ['nodenext', 'node16', 'bundler']) {
  try {
    run(bin('tsc'), ['-p', path.join(here, 'ts', `tsconfig.${m}.json`)]);
    ok(m === 'bundler' ? 'typescript strict, moduleResolution bundler (a Vite app\'s tsconfig): the ESM importer type-checks'
      : `typescript strict, module ${m}: ESM (.mts) and CJS (.cts) importers type-check`);
  } catch (e) {
    fail(`typescript ${m}`, e.stdout + e.stderr);
  }
}
try {
  const out = run(bin('attw'), [tarball, '--format', 'ascii']);
  ok('@arethetypeswrong/cli: no problems');
  if (process.env.VERBOSE) console.log(out);
} catch (e) {
  fail('@arethetypeswrong/cli', e.stdout + e.stderr);
}
try {
  run(process.execPath, [path.join(here, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', path.join(here, 'jest', 'jest.config.cjs')]);
  ok('jest (jsdom environment): require(\'hoviat\') verifies and recovers');
} catch (e) {
  fail('jest jsdom', (e.stderr || '') + (e.stdout || ''));
}

try {
  run(process.execPath, [path.join(here, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', path.join(here, 'vitest', 'vitest.config.js')]);
  ok('vitest (jsdom environment): the case table gives the native verdicts, virtual card, recovery after INTERNAL_PANIC');
} catch (e) {
  fail('vitest jsdom', (e.stderr || '') + (e.stdout || ''));
}

console.log(`apps: ${failed} failed`);
process.exit(failed ? 1 : 0);
