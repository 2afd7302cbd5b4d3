// Headless Chromium end to end on the Rust demo server (examples/bank-portal), with the npm
// package's virtual card in the page. Starts its own server instances on 127.0.0.1:0.
//   node pkg-tests/demo/e2e.mjs BANK_PORTAL_BIN              the suite ("ok NAME" / "FAIL NAME: why")
//   node pkg-tests/demo/e2e.mjs BANK_PORTAL_BIN --login URL  one login on a running server; prints the holder
// Screenshots go to target/screenshots/.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const shots = path.join(root, 'target', 'screenshots');
const { MESSAGES } = await import(path.join(root, 'www', 'messages.js'));
const [bin, mode, loginUrl] = process.argv.slice(2);
const launch = () => chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });

async function loginOnce(page, base, { holder = '1', pin = '123456', lang = 'fa' } = {}) {
  await page.goto(`${base}/?lang=${lang}`);
  await page.waitForSelector('body[data-ready="1"]');
  await page.selectOption('#transport', 'virtual');
  await page.selectOption('#holder', holder);
  await page.fill('#pin', pin);
  await page.click('#login');
  await page.waitForFunction(() => ['logged-in', 'error'].includes(document.body.dataset.status), null, { timeout: 60_000 });
  return page.evaluate(() => ({
    status: document.body.dataset.status,
    code: document.getElementById('message').dataset.code || null,
    message: document.getElementById('message').textContent,
    name: document.getElementById('holder-name').textContent,
    nationalCode: document.getElementById('national-code').textContent,
  }));
}

if (mode === '--login') {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const r = await loginOnce(page, loginUrl, { lang: 'en' });
    if (r.status !== 'logged-in') { console.log(`login refused: ${r.code}: ${r.message}`); process.exit(1); }
    const who = await page.evaluate(() => fetch('/api/session').then((x) => x.json()));
    const h = who.identity.holder;
    console.log(`verified holder: ${h.givenName} ${h.surname}, national code ${h.nationalCode}`);
    console.log(`assurance: ${who.identity.assurance.statement}`);
    console.log(JSON.stringify({ holder: h, assurance: who.identity.assurance }));
  } finally { await browser.close(); }
  process.exit(0);
}

function startServer(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['--listen', '127.0.0.1:0', '--log', path.join(root, 'target', 'test-logs', 'bank-portal-e2e.log'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve({ proc: p, base: m[1], port: m[1].split(':')[2] });
    });
    p.on('exit', (c) => reject(new Error(`bank-portal exited ${c}: ${out}`)));
  });
}

mkdirSync(shots, { recursive: true });
mkdirSync(path.join(root, 'target', 'test-logs'), { recursive: true });
let failed = 0;
const ok = (n) => console.log(`ok ${n}`);
const fail = (n, why) => { failed++; console.log(`FAIL ${n}: ${why}`); };
const expectRefused = (name, r, code, lang = 'fa') => {
  const want = MESSAGES[code][lang === 'en' ? 1 : 0];
  if (r.status === 'error' && r.code === code && r.message.includes(want)) ok(`${name}: refused with ${code}, message shown`);
  else fail(name, JSON.stringify(r));
};

const srv = await startServer([]);
const short = await startServer(['--ttl', '1']);
const browser = await launch();
try {
  const { VirtualCard } = await import(path.join(root, 'pkg', 'node', 'virtual.mjs'));
  const expectedCode = (holder) => {
    const info = new VirtualCard({ holder }).info();
    return (info.certificates[0].subject.match(/PNOIR-(\d{10})/) || [])[1];
  };
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 820 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  let loginBody = null;
  page.on('request', (r) => { if (r.url().endsWith('/api/login') && r.method() === 'POST') loginBody = r.postData(); });

  // 1. Login on the virtual card.
  const r1 = await loginOnce(page, srv.base);
  const want = expectedCode(1);
  if (r1.status === 'logged-in' && want && r1.nationalCode === want && r1.name.trim().length > 2) ok(`login on the virtual card: ${r1.name}, ${r1.nationalCode}`);
  else fail('login', `${JSON.stringify(r1)} (expected national code ${want})`);
  const rtl = await page.evaluate(() => [document.documentElement.dir, getComputedStyle(document.body).direction]);
  rtl[0] === 'rtl' && rtl[1] === 'rtl' ? ok('Persian page is RTL') : fail('rtl', rtl.join());
  await page.screenshot({ path: path.join(shots, 'bank-fa.png'), fullPage: true });
  await page.click('#lang-toggle');
  const ltr = await page.evaluate(() => [document.documentElement.dir, document.querySelector('[data-i18n="welcome"]').textContent]);
  ltr[0] === 'ltr' && ltr[1] === 'Welcome,' ? ok('English page is LTR') : fail('ltr', ltr.join());
  await page.screenshot({ path: path.join(shots, 'bank-en.png'), fullPage: true });
  await page.click('#lang-toggle');
  const sessionOk = await page.evaluate(() => fetch('/api/session').then((x) => x.status));
  await page.click('#logout');
  await page.waitForSelector('body[data-status="logged-out"]');
  const sessionAfter = await page.evaluate(() => fetch('/api/session').then((x) => x.status));
  sessionOk === 200 && sessionAfter === 401 ? ok('session cookie, then logout ends it') : fail('logout', `${sessionOk} ${sessionAfter}`);

  // 2. A replayed token: the page's next login carries the first login's nonce and token.
  const replay = loginBody;
  await page.route('**/api/login', (route) => route.continue({ postData: replay }));
  expectRefused('replayed token', await loginOnce(page, srv.base), 'NONCE_REPLAYED');
  await page.screenshot({ path: path.join(shots, 'error-replayed-fa.png'), fullPage: true });
  await page.unroute('**/api/login');

  // 3. An expired challenge (server with 1-second challenges; the login arrives 2.2 s later).
  await page.route('**/api/login', async (route) => { await new Promise((r) => setTimeout(r, 2200)); await route.continue(); });
  expectRefused('expired challenge', await loginOnce(page, short.base, { lang: 'en' }), 'NONCE_EXPIRED', 'en');
  await page.unroute('**/api/login');

  // 4. A token for another origin: the same page opened as http://localhost:PORT (another
  //    origin than the server's http://127.0.0.1:PORT): the card signs for localhost.
  expectRefused('token for another origin', await loginOnce(page, `http://localhost:${srv.port}`), 'ORIGIN_MISMATCH');
  await page.screenshot({ path: path.join(shots, 'error-origin-fa.png'), fullPage: true });

  // 5. A revoked holder.
  expectRefused('revoked holder', await loginOnce(page, srv.base, { holder: '3' }), 'CERT_REVOKED');
  await page.screenshot({ path: path.join(shots, 'error-revoked-fa.png'), fullPage: true });
  // and a wrong PIN, in English.
  expectRefused('wrong PIN', await loginOnce(page, srv.base, { pin: '999999', lang: 'en' }), 'PIN_WRONG', 'en');

  // 6. The government counter: card, holder, PIN check, assurance.
  await page.goto(`${srv.base}/counter.html?lang=fa`);
  await page.waitForSelector('body[data-ready="1"]');
  await page.selectOption('#holder', '2');
  await page.fill('#pin', '123456');
  await page.click('#read-card');
  await page.waitForFunction(() => ['verified', 'error'].includes(document.body.dataset.status), null, { timeout: 60_000 });
  const c = await page.evaluate(() => ({ status: document.body.dataset.status, holder: document.getElementById('holder-facts').textContent, proof: document.getElementById('proof-facts').textContent, card: document.getElementById('card-facts').textContent, steps: [...document.querySelectorAll('#steps li.done')].length }));
  const want2 = expectedCode(2);
  if (c.status === 'verified' && c.holder.includes(want2) && c.proof.includes('فهرست ابطال') && c.card.includes('piv') && c.steps >= 6) ok(`counter verifies the card: ${want2}, revocation by CRL, ${c.steps} steps shown`);
  else fail('counter', JSON.stringify(c));
  await page.screenshot({ path: path.join(shots, 'counter-fa.png'), fullPage: true });
  await page.click('#lang-toggle');
  const proofEn = await page.evaluate(() => document.getElementById('proof-facts').textContent);
  proofEn.includes('Correct (the card accepted it)') && proofEn.includes('not on the current revocation list') ? ok('counter in English') : fail('counter en', proofEn);
  await page.screenshot({ path: path.join(shots, 'counter-en.png'), fullPage: true });
  // The counter refuses an expired card with its message.
  await page.selectOption('#holder', '4');
  await page.click('#read-card');
  await page.waitForFunction(() => ['verified', 'error'].includes(document.body.dataset.status), null, { timeout: 60_000 });
  const ce = await page.evaluate(() => ({ status: document.body.dataset.status, code: document.getElementById('message').dataset.code, message: document.getElementById('message').textContent }));
  expectRefused('counter: expired certificate', ce, 'CERT_EXPIRED', 'en');

  errors.length === 0 ? ok('no uncaught page errors') : fail('page errors', errors.join(' | '));
} catch (e) {
  fail('e2e', e.stack || String(e));
} finally {
  await browser.close();
  srv.proc.kill();
  short.proc.kill();
}
console.log(`demo-e2e: screenshots in ${path.relative(root, shots)}/`);
console.log(`demo-e2e: ${failed} failed`);
process.exit(failed ? 1 : 0);
