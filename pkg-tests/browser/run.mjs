// Serves the test page and the installed package on 127.0.0.1 and runs it in headless Chromium.
// Prints "ok NAME" / "FAIL NAME: why" lines and "browser: N failed".
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm' };
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const rel = url.pathname === '/' ? '/browser/index.html' : url.pathname;
  const file = path.normalize(path.join(root, rel));
  if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' }).end(body);
  } catch { res.writeHead(404).end(); }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;
let failed = 0;
const ok = (n) => console.log(`ok ${n}`);
const fail = (n, why) => { failed++; console.log(`FAIL ${n}: ${why}`); };
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.__results !== undefined, null, { timeout: 120_000 });
  const r = await page.evaluate(() => window.__results);
  if (r.fatal) fail('page', r.fatal);
  let same = 0;
  for (const c of r.cases) {
    const n = c.native;
    const equal = c.got.ok === n.ok && (n.ok ? c.got.nationalCode === n.nationalCode : c.got.code === n.code && c.got.isHoviatError);
    if (equal) same++;
    else fail(`case ${c.name}`, `Chromium ${JSON.stringify(c.got)} vs native ${JSON.stringify(c.native)}`);
  }
  const backends = [...new Set(r.cases.map((c) => c.backend))].join(', ');
  if (r.cases.length >= 60 && same === r.cases.length) ok(`shared case table: ${same}/${r.cases.length} verdicts equal to native (backends ${backends})`);
  else if (r.cases.length < 60) fail('shared case table', `only ${r.cases.length} cases ran`);
  const k0 = r.checks || {};
  k0.revocationCases > 0 && k0.liteOnly === true && k0.coreForRevocation === true
    ? ok(`token cases without CRLs ran on the lite module alone; the ${k0.revocationCases} with CRLs fetched web/core.wasm`)
    : fail('lite module without revocation', JSON.stringify({ revocationCases: k0.revocationCases, liteOnly: k0.liteOnly, coreForRevocation: k0.coreForRevocation }));
  r.defaultBackend === 'webcrypto' ? ok('the browser default backend is WebCrypto') : fail('default backend', r.defaultBackend);
  const k = r.checks || {};
  k.virtualOrigin ? ok('virtual card signs for the page origin') : fail('virtual card origin', JSON.stringify(k));
  k.virtualVerified ? ok('virtual card token verifies in the page') : fail('virtual card verify', JSON.stringify(k));
  k.statuses === 'detecting-card,reading-certificate,reading-pin-state,waiting-for-pin,verifying-pin,signing,done'
    ? ok('status events in order') : fail('status events', k.statuses);
  k.otherOrigin === 'ORIGIN_MISMATCH' ? ok('token refused for another origin') : fail('other origin', k.otherOrigin);
  k.panic === 'INTERNAL_PANIC' ? ok('panic becomes HoviatError') : fail('panic', k.panic);
  k.afterPanic === 'ok' ? ok('module recovers after a panic') : fail('after panic', k.afterPanic);
  k.auto === 'NO_TRANSPORT' ? ok('auto without the extension says why') : fail('auto', k.auto);
  errors.length === 0 ? ok('no uncaught page errors') : fail('page errors', errors.join(' | '));
  console.log(`browser: page ran in ${k.ms} ms`);
  await page.screenshot({ path: path.join(root, 'browser', 'last-run.png') });
} finally {
  await browser.close();
  server.close();
}
console.log(`browser: ${failed} failed`);
process.exit(failed ? 1 : 0);
