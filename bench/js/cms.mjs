// CMS (PKCS#7) verifications per second, in one run on the same messages: hoviat natively
// (`hoviat bench cms`, each backend), `openssl cms -verify` (one process per verification, as
// a server shelling out would), the npm package in Node (each backend) and in headless
// Chromium (webcrypto, wasm), and pkijs's SignedData.verify in both.
// Messages: `openssl cms -sign` with the test registry's holders (RSA-2048 and P-256, SHA-256,
// signed attributes, attached, both issuing CAs embedded), chain to the RSA-4096 root; no
// revocation for anyone. Before timing, each implementation must accept each message and
// refuse it with one content byte flipped.
// Usage: node bench/js/cms.mjs HOVIAT_BIN PKG_DIR OUT.json
import http from 'node:http';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, readFile } from 'node:fs';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { makeRegistry } from '../../pkg-tests/esign/cases.mjs';

const [bin, pkg, out] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const budget = Number(process.env.BENCH_BUDGET_MS || 2000);
const reg = makeRegistry(bin);
const root = readFileSync(path.join(reg.pki, 'root.pem'), 'utf8');
writeFileSync(path.join(reg.dir, 'content.txt'), 'قرارداد شماره ۱۴۰۳/۷۷ — hoviat CMS benchmark\n');
const work = [];
for (const [name, holder] of [['rsa2048', '00-good'], ['p256', '01-good']]) {
  const f = path.join(reg.dir, `${name}.der`);
  execFileSync('openssl', ['cms', '-sign', '-binary', '-nodetach', '-md', 'sha256', '-in', path.join(reg.dir, 'content.txt'),
    '-signer', reg.holder(holder + '.pem'), '-inkey', reg.holder(holder + '.key.pem'), '-certfile', path.join(reg.dir, 'cas.pem'),
    '-outform', 'DER', '-out', f]);
  const d = readFileSync(f);
  const bad = Buffer.from(d);
  const i = bad.indexOf(Buffer.from('hoviat CMS benchmark'));
  bad[i] ^= 1;
  writeFileSync(path.join(reg.dir, `${name}-bad.der`), bad);
  work.push({ name, file: f, bad: path.join(reg.dir, `${name}-bad.der`), cms: d.toString('base64'), badCms: bad.toString('base64'), root, at: reg.at });
}
const results = { at: new Date().toISOString(), rows: [] };
const row = (platform, impl, name, median_us, extra) => {
  results.rows.push({ platform, impl, workload: name, median_us, per_s: 1e6 / median_us, ...extra });
  process.stderr.write(`cms ${platform} ${impl} ${name}: ${median_us.toFixed(0)} us (${(1e6 / median_us).toFixed(0)}/s)\n`);
};

// --- native
for (const backend of ['aws-lc', 'rustcrypto']) {
  for (const w of work) {
    const base = ['bench', 'cms', '--trust-anchor', path.join(reg.pki, 'root.pem'), '--at', reg.at, '--backend', backend];
    const r = spawnSync(bin, [...base, '--signature', w.file, '--iterations', '2000'], { encoding: 'utf8' });
    if (r.status !== 0) { process.stderr.write(`cms native ${backend}: ${r.stdout}${r.stderr}\n`); continue; }
    const bad = spawnSync(bin, [...base, '--signature', w.bad, '--iterations', '1', '--warmup', '0']);
    if (bad.status === 0) throw new Error(`native ${backend} accepted a flipped content byte`);
    const j = JSON.parse(r.stdout);
    row('native', `hoviat native, ${backend}`, w.name, j.median_us, { p10_us: j.p10_us, p90_us: j.p90_us });
  }
}

// --- openssl cms -verify, one process per verification
const osslVersion = execFileSync('openssl', ['version']).toString().trim();
for (const w of work) {
  const args = (f) => ['cms', '-verify', '-binary', '-inform', 'DER', '-in', f, '-CAfile', path.join(reg.pki, 'root.pem'), '-purpose', 'any',
    '-attime', String(Math.floor(Date.parse(reg.at) / 1000)), '-out', '/dev/null'];
  if (spawnSync('openssl', args(w.file)).status !== 0) throw new Error('openssl refused the genuine message');
  if (spawnSync('openssl', args(w.bad)).status === 0) throw new Error('openssl accepted the flipped message');
  const t = [];
  const end = Date.now() + budget;
  while (Date.now() < end || t.length < 20) {
    const t0 = process.hrtime.bigint();
    spawnSync('openssl', args(w.file));
    t.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  t.sort((a, b) => a - b);
  row('process', 'openssl cms -verify, one process each', w.name, t[Math.floor(t.length / 2)]);
}

// --- the timing loop, the same in Node and in the page
const timeLoop = `async (fn, budgetMs) => {
  for (let i = 0; i < 10; i++) await fn();
  const t = [];
  const end = performance.now() + budgetMs;
  while (performance.now() < end || t.length < 20) { const t0 = performance.now(); await fn(); t.push((performance.now() - t0) * 1000); }
  t.sort((a, b) => a - b);
  return { median_us: t[Math.floor(t.length / 2)], p10_us: t[Math.floor(t.length * 0.1)], p90_us: t[Math.floor(t.length * 0.9)], n: t.length };
}`;
const loop = eval(timeLoop); // eslint-disable-line no-eval

// --- Node
const h = await import(pathToFileURL(path.resolve(pkg, 'node/index.mjs')).href);
const pkijs = await import(pathToFileURL(path.join(here, '..', 'dist', 'pkijs-cms.js')).href);
const trust = new h.TrustStore({ trustAnchors: [root] });
for (const w of work) {
  const der = new Uint8Array(Buffer.from(w.cms, 'base64'));
  const bad = new Uint8Array(Buffer.from(w.badCms, 'base64'));
  const impls = [
    ...['node', 'webcrypto', 'wasm'].map((b) => [`hoviat package, backend ${b}`, (m) => h.verifySignature(m, { trust, at: reg.at, backend: b })]),
  ];
  for (const [label, f] of impls) {
    await f(der);
    if (await f(bad).then(() => true, () => false)) throw new Error(`${label} accepted the flipped message`);
    const r = await loop(() => f(der), budget);
    row('node', label, w.name, r.median_us, r);
  }
  await pkijs.verify(w);
  if (await pkijs.verify({ ...w, cms: w.badCms }).then(() => true, () => false)) throw new Error('pkijs accepted the flipped message');
  const r = await loop(() => pkijs.verify(w), budget);
  row('node', pkijs.name, w.name, r.median_us, r);
}
results.node = process.version;

// --- Chromium
const roots = { '/bench/': path.resolve(here, '..'), '/pkg/': path.resolve(pkg) };
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
const isolated = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' };
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/') { res.writeHead(200, { 'content-type': 'text/html', ...isolated }).end('<!doctype html><title>cms bench</title>'); return; }
  const prefix = Object.keys(roots).find((p) => url.pathname.startsWith(p));
  if (!prefix) { res.writeHead(404).end(); return; }
  const file = path.normalize(path.join(roots[prefix], url.pathname.slice(prefix.length)));
  readFile(file, (err, body) => {
    if (err) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream', ...isolated }).end(body);
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const rows = await page.evaluate(async ({ work, root, at, budget, timeLoop }) => {
    const loop = eval(timeLoop); // eslint-disable-line no-eval
    const H = await import('/pkg/web/index.js');
    const P = await import('/bench/dist/pkijs-cms.js');
    const trust = new H.TrustStore({ trustAnchors: [root] });
    const b = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    const outRows = [];
    for (const w of work) {
      const impls = ['webcrypto', 'wasm'].map((be) => [`hoviat package, backend ${be}`, (m) => H.verifySignature(b(m), { trust, at, backend: be })]);
      impls.push([P.name, (m) => P.verify({ cms: m, root, at })]);
      for (const [label, f] of impls) {
        await f(w.cms);
        if (await f(w.badCms).then(() => true, () => false)) throw new Error(`${label} accepted the flipped message`);
        const r = await loop(() => f(w.cms), budget);
        outRows.push({ label, name: w.name, r });
      }
    }
    return outRows;
  }, { work, root, at: reg.at, budget, timeLoop });
  for (const x of rows) row('chromium', x.label, x.name, x.r.median_us, x.r);
  results.chromium = browser.version();
} finally {
  await browser.close();
  server.close();
  reg.cleanup();
}
results.openssl = osslVersion;
writeFileSync(out, JSON.stringify(results, null, 2));
