// The Dastine transport in headless Chromium against the FAKE Dastine service (test
// equipment, fake-dastine.mjs), from an http page (ws://127.0.0.1:51356/dastine) and an https
// page (wss://localhost.dastine.pki.co.ir:51357/dastine, the name mapped to the loopback by
// Chromium's host resolver, the fake's self-signed certificate accepted for this test only).
// CmsSign -> verifySignature accepts; NIDAuthenticateByPIN + NIDSign -> verifySignature
// accepts; every Dastine numeric error and client state -> its stable code and a Persian and
// an English sentence from www/messages.js; one command at a time. Also verifySignature in the
// page on the openssl-made case table (webcrypto and wasm) against the CLI's verdicts, and
// verifyPdfSignatures on pyHanko-signed PDFs (pdf-cases.mjs) likewise.
// Prints "ok NAME" / "FAIL NAME: why" and "dastine: N failed". Env: HOVIAT_BIN.
import http from 'node:http';
import https from 'node:https';
import { spawn, execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { hoviatBin, makeRegistry, makeCases } from '../esign/cases.mjs';
import { makePdfCases } from '../esign/pdf-cases.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const repo = path.resolve(root, '..');
let failed = 0;
const ok = (n) => console.log(`ok ${n}`);
const fail = (n, why) => { failed++; console.log(`FAIL ${n}: ${why}`); };
const check = (n, cond, why) => (cond ? ok(n) : fail(n, typeof why === 'function' ? why() : why));

const bin = hoviatBin();
const reg = makeRegistry(bin);
const cases = makeCases(reg, bin);
const pdfCases = makePdfCases(reg, bin);
// The site's "licensed configuration" for the fake: a stand-in, clearly not the vendor's.
const LICENSED = '<Configuration><!-- TEST EQUIPMENT: accepted only by the fake Dastine service --><Site>127.0.0.1</Site><Signature>fake-vendor-signature</Signature></Configuration>';
await writeFile(path.join(reg.dir, 'licensed.xml'), LICENSED);

const fake = spawn(process.execPath, [path.join(here, 'fake-dastine.mjs'), '--pki', reg.pki, '--licensed-config', path.join(reg.dir, 'licensed.xml')], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve, reject) => {
  fake.stdout.on('data', (d) => { if (String(d).includes('listening')) resolve(); });
  fake.on('exit', (c) => reject(new Error('fake-dastine exited ' + c)));
  setTimeout(() => reject(new Error('fake-dastine did not start')), 20_000);
});
process.on('exit', () => { try { fake.kill('SIGTERM'); } catch { /* gone */ } });
const control = (p, body) => new Promise((resolve, reject) => {
  const req = http.request({ host: '127.0.0.1', port: 51356, path: p, method: body ? 'POST' : 'GET', headers: { 'content-type': 'application/json' } }, (res) => {
    let s = ''; res.on('data', (c) => { s += c; }); res.on('end', () => resolve(s ? JSON.parse(s) : {}));
  });
  req.on('error', reject);
  req.end(body ? JSON.stringify(body) : undefined);
});

// The page, over http (127.0.0.1) and https (hoviat.test, a self-signed certificate).
const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm' };
const serve = async (req, res) => {
  const url = new URL(req.url, 'http://x');
  let file;
  if (url.pathname === '/') file = path.join(here, 'page.html');
  else if (url.pathname === '/www/messages.js') file = path.join(repo, 'www', 'messages.js');
  else file = path.normalize(path.join(root, url.pathname));
  if (!file.startsWith(root) && !file.startsWith(path.join(repo, 'www'))) { res.writeHead(403).end(); return; }
  let body;
  try { body = await readFile(file); } catch { res.writeHead(404).end(); return; }
  res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' }).end(body);
};
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(reg.dir, 'page.key'),
  '-out', path.join(reg.dir, 'page.crt'), '-days', '2', '-subj', '/CN=hoviat.test', '-addext', 'subjectAltName=DNS:hoviat.test'], { stdio: 'ignore' });
const httpServer = http.createServer(serve);
const httpsServer = https.createServer({ key: readFileSync(path.join(reg.dir, 'page.key')), cert: readFileSync(path.join(reg.dir, 'page.crt')) }, serve);
await new Promise((r) => httpServer.listen(0, '127.0.0.1', r));
await new Promise((r) => httpsServer.listen(0, '127.0.0.1', r));
const httpBase = `http://127.0.0.1:${httpServer.address().port}`;
const httpsBase = `https://hoviat.test:${httpsServer.address().port}`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
    '--host-resolver-rules=MAP localhost.dastine.pki.co.ir 127.0.0.1, MAP hoviat.test 127.0.0.1',
    // Test only: the fake service's and the test page's self-signed certificates.
    '--ignore-certificate-errors'],
});
// The relying party's trust: the root, the issuing CAs (the fake, like CmsSign, embeds only the
// signer's certificate) and their CRLs.
const trust = { trustAnchors: reg.trust.trustAnchors, intermediates: reg.intermediates, crls: reg.trust.crls, at: reg.at };
const errors = [];
try {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(httpBase + '/');
  await page.waitForFunction(() => window.ready === true, null, { timeout: 60_000 });

  // ---- verifySignature in Chromium on the openssl case table, against the CLI -------------
  const got = await page.evaluate(async ({ cases, trust }) => {
    const b = (s) => (s === undefined ? undefined : Uint8Array.from(atob(s), (c) => c.charCodeAt(0)));
    const out = [];
    for (const backend of ['webcrypto', 'wasm']) {
      for (const c of cases) {
        try {
          await window.hoviat.verifySignature(b(c.cms), { ...trust, content: b(c.content), allowSha1: c.allowSha1, backend });
          out.push({ name: c.name, backend, got: { ok: true } });
        } catch (e) { out.push({ name: c.name, backend, got: { ok: false, code: e.code } }); }
      }
    }
    return out;
  }, { cases, trust });
  const differ = got.filter((g) => JSON.stringify(g.got) !== JSON.stringify(cases.find((c) => c.name === g.name).cli));
  check(`verifySignature in Chromium = CLI on ${got.length} openssl cases (webcrypto, wasm)`, differ.length === 0 && got.length === cases.length * 2,
    () => JSON.stringify(differ));

  // ---- verifyPdfSignatures in Chromium on the pyHanko-signed PDFs, against the CLI --------
  const gotPdf = await page.evaluate(async ({ pdfCases, trust }) => {
    const b = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    const out = [];
    for (const backend of ['webcrypto', 'wasm']) {
      for (const c of pdfCases) {
        try {
          const r = await window.hoviat.verifyPdfSignatures(b(c.pdf), { ...trust, backend });
          out.push({ name: c.name, backend, got: { ok: r.verified === true && r.signatures[0].coversWholeFile === true } });
        } catch (e) { out.push({ name: c.name, backend, got: { ok: false, code: e.code } }); }
      }
    }
    return out;
  }, { pdfCases, trust });
  const differPdf = gotPdf.filter((g) => JSON.stringify(g.got) !== JSON.stringify(pdfCases.find((c) => c.name === g.name).cli));
  check(`verifyPdfSignatures in Chromium = CLI on ${gotPdf.length} pyHanko PDF cases (webcrypto, wasm)`,
    differPdf.length === 0 && gotPdf.length === pdfCases.length * 2, () => JSON.stringify(differPdf));

  // ---- the happy paths ------------------------------------------------------------------------
  const flow = (base) => page.evaluate(async ({ LICENSED, trust }) => {
    const statuses = [];
    const card = await window.hoviat.connect({ transport: 'dastine', onStatus: (s) => statuses.push(s), dastine: { config: LICENSED, retries: 1 } });
    const r = { transport: card.transport, statuses };
    const cert = await card.selectCertificate({ from: 'token' });
    r.certLen = cert.length;
    const text = 'سند آزمایشی hoviat: ' + location.protocol;
    const att = await card.cmsSign(text);
    const v1 = await window.hoviat.verifySignature(att, trust);
    r.attached = { verified: v1.verified, attached: v1.contentAttached, digest: v1.signers[0].digestAlgorithm, chain: v1.signers[0].chain.length };
    const det = await card.cmsSign(text, { attach: false });
    const v2 = await window.hoviat.verifySignature(det, { ...trust, content: text });
    r.detached = { verified: v2.verified, attached: v2.contentAttached };
    try { await window.hoviat.verifySignature(det, { ...trust, content: text + '!' }); r.detachedAltered = 'accepted'; } catch (e) { r.detachedAltered = e.code; }
    const sha1 = await card.cmsSign(text, { hash: 'SHA1' });
    try { await window.hoviat.verifySignature(sha1, trust); r.sha1 = 'accepted'; } catch (e) { r.sha1 = e.code; }
    const v3 = await window.hoviat.verifySignature(sha1, { ...trust, allowSha1: true });
    r.sha1OptIn = { verified: v3.verified, legacySha1: v3.legacySha1 };
    try { await card.nidSign(text); r.nidBeforePin = 'signed'; } catch (e) { r.nidBeforePin = window.asError(e); }
    await card.authenticateByPin({ cardReader: '' });
    const nid = await card.nidSign(text);
    const v4 = await window.hoviat.verifySignature(nid, trust);
    r.nid = { verified: v4.verified, signer: v4.signers[0].holder.subject };
    // Three calls at once: the transport sends them one at a time.
    const many = await Promise.all([card.cmsSign('a'), card.cmsSign('b'), card.selectedCertificate()]);
    r.concurrent = many.every((x) => typeof x === 'string' && x.length > 100);
    card.close();
    return r;
  }, { LICENSED, trust });

  for (const [label, base] of [['http page, ws://127.0.0.1:51356', httpBase], ['https page, wss://localhost.dastine.pki.co.ir:51357', httpsBase]]) {
    if (base !== httpBase) {
      await page.goto(base + '/');
      await page.waitForFunction(() => window.ready === true, null, { timeout: 60_000 });
    }
    await control('/__fake/reset', {});
    let r;
    try { r = await flow(base); } catch (e) { fail(`${label}: flow`, String(e)); continue; }
    check(`${label}: connect (site config passed through SetConfig) -> transport dastine`, r.transport === 'dastine' && r.statuses.includes('dastine-connected'), JSON.stringify(r));
    check(`${label}: CmsSign attached -> verifySignature accepts`, r.attached.verified && r.attached.attached && r.attached.digest === 'SHA-256' && r.attached.chain >= 3, JSON.stringify(r.attached));
    check(`${label}: CmsSign detached -> verifySignature accepts with the content`, r.detached.verified && !r.detached.attached, JSON.stringify(r.detached));
    check(`${label}: detached, altered content -> CMS_DIGEST_MISMATCH`, r.detachedAltered === 'CMS_DIGEST_MISMATCH', r.detachedAltered);
    check(`${label}: CmsSign SHA1 -> ALGORITHM_DISALLOWED by default`, r.sha1 === 'ALGORITHM_DISALLOWED', r.sha1);
    check(`${label}: CmsSign SHA1 -> accepted with allowSha1, legacySha1 reported`, r.sha1OptIn.verified && r.sha1OptIn.legacySha1 === true, JSON.stringify(r.sha1OptIn));
    check(`${label}: NIDSign before NIDAuthenticateByPIN -> DASTINE_NOT_AUTHENTICATED (3 tries left)`,
      r.nidBeforePin.code === 'DASTINE_NOT_AUTHENTICATED' && r.nidBeforePin.triesLeft === 3, JSON.stringify(r.nidBeforePin));
    check(`${label}: NIDAuthenticateByPIN + NIDSign -> verifySignature accepts`, r.nid.verified === true, JSON.stringify(r.nid));
    const st = await control('/__fake/state');
    check(`${label}: one command at a time (3 concurrent calls, ${st.calls.length} commands, 0 overlaps)`, r.concurrent && st.overlaps === 0, `overlaps ${st.overlaps}`);
  }

  // ---- every numeric error -> its code and sentences ---------------------------------------------
  await page.goto(httpBase + '/');
  await page.waitForFunction(() => window.ready === true, null, { timeout: 60_000 });
  const expectCode = (n) => ({ 10: 'DASTINE_UNKNOWN_ERROR', 11: 'DASTINE_CERT_NOT_SELECTED', 12: 'DASTINE_HASH_UNSUPPORTED', 13: 'DASTINE_PIN_TIMEOUT',
    14: 'DASTINE_PIN_WRONG', 18: 'DASTINE_CANCELLED', 29: 'DASTINE_PIN_BLOCKED', 30: 'DASTINE_NO_PRIVATE_KEY', 34: 'DASTINE_INPUT_NOT_BASE64',
    56: 'DASTINE_CMS_SIGN_FAILED', 57: 'DASTINE_CMS_ATTRIBUTE_INVALID', 86: 'DASTINE_CONFIG_SIGNATURE_INVALID', 89: 'DASTINE_TOKEN_NOT_AVAILABLE',
    90: 'DASTINE_PUK_BLOCKED', 120: 'DASTINE_RESPONSE_TIMEOUT', 206: 'DASTINE_NID_SM_SERVER_UNREACHABLE', 211: 'DASTINE_NID_SIGNING_SERVER_UNAVAILABLE' }[n]
    || (n >= 80 && n <= 85 ? 'DASTINE_CONFIG_INVALID' : n >= 91 && n <= 99 ? 'DASTINE_NOT_AUTHENTICATED' : n >= 200 && n <= 211 ? 'DASTINE_NID_CARD_ERROR' : 'DASTINE_UNKNOWN_ERROR'));
  const numbers = [10, 11, 12, 13, 14, 18, 29, 30, 34, 56, 57, 80, 81, 82, 83, 84, 85, 86, 89, 90, 91, 95, 99, 120, 200, 205, 206, 207, 211, 150];
  const seen = new Set();
  let good = 0;
  for (const n of numbers) {
    // PIN errors on NIDAuthenticateByPIN, the rest on CmsSign (both through the same mapping).
    const command = [13, 14, 29, 90].includes(n) || (n >= 91 && n <= 99) ? 'NIDAuthenticateByPIN' : n >= 200 ? 'NIDSign' : 'CmsSign';
    const e = await page.evaluate(async ({ LICENSED, n, command }) => {
      const card = await window.hoviat.connect({ transport: 'dastine', dastine: { config: LICENSED, retries: 1, keepAliveMs: 0 } });
      try {
        await card.selectCertificate();
        if (command === 'NIDSign') await card.authenticateByPin();
        await fetch('http://127.0.0.1:51356/__fake/inject', { method: 'POST', body: JSON.stringify({ command, result: String(n) }) }).catch(() => {});
        if (command === 'CmsSign') await card.cmsSign('x');
        else if (command === 'NIDSign') await card.nidSign('x');
        else await card.authenticateByPin();
        return { code: 'NO_ERROR' };
      } catch (err) { return window.asError(err); } finally { card.close(); }
    }, { LICENSED, n, command });
    const want = expectCode(n);
    const sentences = e.fa && e.en && !e.fa.includes('پیش‌بینی‌نشده') && !e.en.startsWith('Unexpected') && /[\u0600-\u06FF]/.test(e.fa);
    const tries = n >= 91 && n <= 99 ? e.triesLeft === n - 90 : true;
    if (e.code === want && e.dastineCode === n && e.isHoviatError && sentences && tries) { good++; seen.add(want); }
    else fail(`Dastine error ${n} on ${command}`, `got ${JSON.stringify(e)}, want ${want}`);
  }
  check(`every Dastine numeric error -> its code, dastineCode, Persian and English sentence (${good}/${numbers.length} numbers, ${seen.size} codes)`, good === numbers.length, `${good}/${numbers.length}`);

  // ---- client states ----------------------------------------------------------------------------
  const states = await page.evaluate(async ({ LICENSED }) => {
    const out = {};
    const statuses = [];
    try {
      await window.hoviat.connect({ transport: 'dastine', onStatus: (s) => statuses.push(s), dastine: { url: 'ws://127.0.0.1:9/dastine', retries: 3, retryDelayMs: 50 } });
      out.notInstalled = { code: 'CONNECTED' };
    } catch (e) { out.notInstalled = window.asError(e); }
    out.waiting = statuses.filter((s) => s === 'dastine-waiting').length;
    const inject = (body) => fetch('http://127.0.0.1:51356/__fake/inject', { method: 'POST', body: JSON.stringify(body) });
    const run = async (name, dast, fn) => {
      let card;
      try {
        card = await window.hoviat.connect({ transport: 'dastine', dastine: { config: LICENSED, retries: 1, keepAliveMs: 0, ...dast } });
        await fn(card);
        out[name] = { code: 'NO_ERROR' };
      } catch (e) { out[name] = window.asError(e); } finally { if (card) card.close(); }
    };
    await run('closed', {}, async (c) => { await c.selectCertificate(); await inject({ command: 'CmsSign', close: true }); await c.cmsSign('x'); });
    await run('timeout', { timeoutMs: 400 }, async (c) => { await c.selectCertificate(); await inject({ command: 'CmsSign', hang: true }); await c.cmsSign('x'); });
    await run('afterTimeout', { timeoutMs: 400 }, async (c) => { await c.selectCertificate(); await inject({ command: 'CmsSign', hang: true });
      await c.cmsSign('x').catch(() => {}); const s = await c.cmsSign('y'); if (s.length < 100) throw new Error('short'); });
    await run('badReply', {}, async (c) => { await c.selectCertificate(); await inject({ command: 'CmsSign', raw: 'this is not JSON' }); await c.cmsSign('x'); });
    await run('outdated', { minVersion: '6.0' }, async () => {});
    await run('versionOk', { minVersion: '5.8' }, async () => {});
    await run('noConfig', { config: undefined }, async (c) => { await c.cmsSign('x'); });
    await run('forgedConfig', { config: '<Configuration><Site>127.0.0.1</Site></Configuration>' }, async () => {});
    return out;
  }, { LICENSED });
  const stateCheck = (name, label, want) => {
    const e = states[name];
    const sentences = e && e.fa && !e.fa.includes('پیش‌بینی‌نشده') && e.en && !e.en.startsWith('Unexpected');
    check(`${label} -> ${want}`, e && e.code === want && (want === 'NO_ERROR' || (e.isHoviatError && sentences)), JSON.stringify(e));
  };
  stateCheck('notInstalled', `no service (3 tries, ${states.waiting} waiting statuses)`, 'DASTINE_NOT_INSTALLED');
  check('waiting for the service is reported between tries', states.waiting === 2, `waiting ${states.waiting}`);
  stateCheck('closed', 'service closes the connection mid-call', 'DASTINE_CLOSED');
  stateCheck('timeout', 'no answer within timeoutMs', 'DASTINE_RESPONSE_TIMEOUT');
  stateCheck('afterTimeout', 'the next command after a timeout still works', 'NO_ERROR');
  stateCheck('badReply', 'a reply that is not JSON', 'DASTINE_BAD_REPLY');
  stateCheck('outdated', 'service version 5.8.38.0 below minVersion 6.0', 'DASTINE_VERSION_OUTDATED');
  stateCheck('versionOk', 'service version 5.8.38.0 meets minVersion 5.8', 'NO_ERROR');
  stateCheck('noConfig', 'no site configuration sent (the fake answers 81)', 'DASTINE_CONFIG_INVALID');
  stateCheck('forgedConfig', 'a configuration without the vendor signature (86)', 'DASTINE_CONFIG_SIGNATURE_INVALID');
  check('no uncaught page errors', errors.length === 0, errors.join(' | '));
  await page.screenshot({ path: path.join(here, 'last-run.png') });
} catch (e) {
  fail('run', e && e.stack || String(e));
} finally {
  await browser.close();
  httpServer.close();
  httpsServer.close();
  fake.kill('SIGTERM');
  reg.cleanup();
}
console.log(`dastine: ${failed} failed`);
process.exit(failed ? 1 : 0);
