// Headless Chromium (playwright-core, /usr/bin/chromium): a page on 127.0.0.1 runs the peers'
// bundles and hoviat's browser build on the same workloads; wasm start-up; scaling with the
// package. Usage: node browser.mjs WORKLOADS_DIR PKG_DIR OUT.json
import http from 'node:http';
import { readFile, readdir, stat } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { load, MAIN, SCALING } from './workloads.mjs';

const [dir, pkg, out] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const budget = Number(process.env.BENCH_BUDGET_MS || 3000);
const roots = { '/bench/': path.resolve(here, '..'), '/pkg/': path.resolve(pkg) };
const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm' };
// Cross-origin isolated page: performance.now() at 5 µs resolution instead of 100 µs.
const isolated = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' };
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/') { res.writeHead(200, { 'content-type': 'text/html', ...isolated }).end('<!doctype html><title>hoviat bench</title><p>bench</p>'); return; }
  const prefix = Object.keys(roots).find((p) => url.pathname.startsWith(p));
  if (!prefix) { res.writeHead(404).end(); return; }
  const file = path.normalize(path.join(roots[prefix], url.pathname.slice(prefix.length)));
  if (!file.startsWith(roots[prefix])) { res.writeHead(403).end(); return; }
  try {
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store', ...isolated }).end(await readFile(file));
  } catch { res.writeHead(404).end(); }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;
const variants = [];
for (const v of ['lite', 'core']) {
  try { await stat(path.join(pkg, 'web', `${v}.wasm`)); variants.push(v); } catch { /* not in this build */ }
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
const results = { platform: 'chromium', chromium: browser.version(), impls: [], startup: {}, scaling: {} };
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/`);
  const setup = await page.evaluate(async () => {
    window.S = await import('/bench/js/suite.js');
    window.P = { pkijs: await import('/bench/dist/pkijs.js'), x509: await import('/bench/dist/x509.js') };
    window.H = await import('/pkg/web/index.js');
    return { version: window.H.version };
  });
  results.hoviatVersion = setup.version;
  const main = MAIN.map((n) => load(dir, n));
  // Which backends the build has (a bogus one accepted means the option is ignored).
  results.probe = await page.evaluate(async (w) => {
    const v = (b) => window.H.verifyToken(w.token, { origin: w.origin, nonce: w.nonce, trustAnchors: [w.anchorsPem], intermediates: [w.intermediatesPem], at: w.at, backend: b });
    let optionKnown = true;
    try { await v('no-such-backend'); optionKnown = false; } catch { /* read */ }
    const backends = {};
    for (const b of ['wasm', 'webcrypto']) {
      try { const r = await v(b); backends[b] = { ok: true, ran: (r && r.backend) || (optionKnown ? b : 'wasm (option ignored by this build)') }; }
      catch (e) { backends[b] = { ok: false, why: `${e && e.code ? e.code + ': ' : ''}${e && e.message}` }; }
    }
    return { optionKnown, backends };
  }, main[0]);
  const hoviatBackends = results.probe.optionKnown ? Object.keys(results.probe.backends).filter((b) => results.probe.backends[b].ok) : ['wasm'];
  const impls = [
    ...hoviatBackends.map((b) => ({ id: `hoviat-${b}`, label: results.probe.optionKnown ? `hoviat package, backend ${b}` : 'hoviat package (wasm core; this build has no backend option)', hoviat: true, backend: b })),
    { id: 'pkijs', label: 'pkijs + WebCrypto' },
    { id: 'x509', label: '@peculiar/x509 chain builder + WebCrypto' },
  ];
  // Checks every implementation on the workload, then times them interleaved.
  const run = (list, w, opts) => page.evaluate(async ({ list, w, opts }) => {
    const fn = (impl) => (impl.hoviat
      ? (x) => window.H.verifyToken(x.token, { origin: x.origin, nonce: x.nonce, trustAnchors: [x.anchorsPem], intermediates: x.intermediatesPem ? [x.intermediatesPem] : [], at: x.at, backend: impl.backend })
      : window.P[impl.id].verify);
    for (const impl of list) {
      try { await window.S.check(fn(impl), w); } catch (e) { return { error: `${impl.label}: ${e.message}` }; }
    }
    return await window.S.timeMany(list.map((impl) => [impl.id, fn(impl)]), w, opts);
  }, { list, w, opts });
  for (const impl of impls) results.impls.push({ id: impl.id, label: impl.label, hoviat: !!impl.hoviat, workloads: {} });
  for (const w of main) {
    const r = await run(impls, w, { budgetMs: budget * impls.length });
    if (r.error) throw new Error(`chromium ${w.name}: ${r.error}`);
    for (const row of results.impls) {
      row.workloads[w.name] = r[row.id];
      process.stderr.write(`chromium ${row.id} ${w.name}: median ${r[row.id].median_us.toFixed(0)} us\n`);
    }
  }
  // Where hoviat's time goes: the wasm pass alone, and WebCrypto's own cost for the checks it
  // hands out (one after another; all at once; the first P-384/P-521 check on a Web Worker while
  // the page does the rest, to see whether another thread runs WebCrypto in parallel).
  results.floor = {};
  for (const w of main) {
    const r = await page.evaluate(async (w) => {
      const g = (await import('/pkg/web/glue-lite.js')).default();
      g.initSync({ module: await WebAssembly.compileStreaming(fetch('/pkg/web/lite.wasm')) });
      const s = crypto.subtle;
      const alg = (c) => (c.kind === 'ecdsa' ? [{ name: 'ECDSA', namedCurve: c.namedCurve }, { name: 'ECDSA', hash: c.hash }]
        : c.kind === 'rsa-pss' ? [{ name: 'RSA-PSS', hash: c.hash }, { name: 'RSA-PSS', saltLength: c.saltLength }]
          : [{ name: 'RSASSA-PKCS1-v1_5', hash: c.hash }, { name: 'RSASSA-PKCS1-v1_5' }]);
      const worker = new Worker('/bench/js/floor-worker.js');
      let seq = 0;
      let loaded = false; // the worker holds the first slow check
      const waiting = new Map();
      worker.onmessage = (e) => { waiting.get(e.data.id)(e.data.ok); waiting.delete(e.data.id); };
      const ask = (m) => new Promise((res) => { const id = ++seq; waiting.set(id, res); worker.postMessage({ ...m, id }); });
      const prepare = async (c) => {
        const [imp, params] = alg(c);
        const key = await s.importKey('spki', c.spki, imp, false, ['verify']);
        const slow = c.kind === 'ecdsa' && c.namedCurve !== 'P-256' && !loaded;
        loaded = loaded || slow;
        if (slow) await ask({ load: { spki: c.spki, imp, params, signature: c.signature, message: c.message } });
        return { key, params, slow };
      };
      const one = (k) => s.verify(k.params, k.key, k.c.signature, k.c.message);
      return window.S.whereTimeGoes(g, w, prepare, {
        serial: async (ks) => { const r = []; for (const k of ks) r.push(await one(k)); return r; },
        allAtOnce: (ks) => Promise.all(ks.map(one)),
        slowOnWorker: (ks) => {
          const first = ks.findIndex((k) => k.slow); // -1 (none): all here
          return Promise.all(ks.map((k, i) => (i === first ? ask({ verify: true }) : one(k))));
        },
      });
    }, w);
    results.floor[w.name] = r;
    process.stderr.write(`chromium where time goes ${w.name}: wasm pass ${r.wasmPass.median_us.toFixed(0)} us, checks serial ${r.serial.median_us.toFixed(0)}, at once ${r.allAtOnce.median_us.toFixed(0)}, one on a worker ${r.slowOnWorker.median_us.toFixed(0)}\n`);
  }
  // Scaling with the package, each backend (interleaved).
  const hov = impls.filter((i) => i.hoviat);
  for (const i of hov) results.scaling[i.id] = {};
  for (const n of SCALING) {
    const r = await run(hov, load(dir, n), { budgetMs: (budget / 2) * hov.length, rounds: 6, warmup: 5, maxIterations: 200 });
    if (r.error) throw new Error(`chromium ${n}: ${r.error}`);
    for (const i of hov) {
      results.scaling[i.id][n] = r[i.id];
      process.stderr.write(`chromium scaling ${i.id} ${n}: median ${r[i.id].median_us.toFixed(0)} us\n`);
    }
  }
  // wasm start-up: compile + instantiate from bytes, a fresh glue module each time.
  for (const v of variants) {
    const r = await page.evaluate(async ({ v, w }) => {
      const bytes = new Uint8Array(await (await fetch(`/pkg/web/${v}.wasm`)).arrayBuffer());
      const makeGlue = (await import(`/pkg/web/glue-${v}.js`)).default; // a factory: fresh glue per call
      const mods = [];
      for (let i = 0; i < 15; i++) mods.push(makeGlue());
      const opts = { origin: w.origin, nonce: w.nonce, trustAnchors: [w.anchorsPem], intermediates: [w.intermediatesPem], at: w.at };
      return window.S.startupRuns(
        async (i) => { mods[i].initSync({ module: await WebAssembly.compile(window.S.uniqueWasm(bytes, i)) }); },
        async (i) => { window.S.firstCall(mods[i], w, opts); },
      );
    }, { v, w: main[0] });
    results.startup[v] = r.startup;
    results.firstVerify = { ...(results.firstVerify || {}), [v]: r.first };
    process.stderr.write(`chromium start-up ${v}: median ${results.startup[v].median_us.toFixed(0)} us\n`);
  }
  if (errors.length) throw new Error(`page errors: ${errors.join(' | ')}`);
} finally {
  await browser.close();
  server.close();
}
writeFileSync(out, JSON.stringify(results, null, 1));
