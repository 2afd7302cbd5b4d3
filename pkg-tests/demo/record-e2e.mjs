// The counter's sealed identity records end to end (issues 17 and 21): headless Chromium on the
// Rust demo server (examples/bank-portal) with the npm package's virtual Iranian and PIV cards.
//   node pkg-tests/demo/record-e2e.mjs BANK_PORTAL_BIN HOVIAT_BIN WORKDIR [SERVER ARGS...]
// Prints "ok NAME" / "FAIL NAME: why"; writes each sealed record and its paper copy to WORKDIR
// (the suite verifies them with `hoviat record verify`, @sd-jwt and `hoviat archive verify`);
// screenshots in Persian and English go to target/screenshots/record-*.png.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const shots = path.join(root, 'target', 'screenshots');
const { MESSAGES } = await import(path.join(root, 'www', 'messages.js'));
const [bin, hoviat, work, ...serverArgs] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
mkdirSync(work, { recursive: true });
let failed = 0;
const ok = (n) => console.log(`ok ${n}`);
const fail = (n, why) => { failed++; console.log(`FAIL ${n}: ${String(why).slice(0, 600)}`); };
const check = (n, cond, why) => (cond ? ok(n) : fail(n, why));

function startServer(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['--listen', '127.0.0.1:0', '--log', path.join(work, 'server.log'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve({ proc: p, base: m[1] });
    });
    p.on('exit', (c) => reject(new Error(`bank-portal exited ${c}: ${out}`)));
  });
}

// The FAKE Dastine service (test equipment, pkg-tests/dastine/fake-dastine.mjs) with a virtual
// card inserted: the counter's card-signature records go through it (NIDSign -> the card's CMS).
const LICENSED = '<Configuration><!-- TEST EQUIPMENT: accepted only by the fake Dastine service --><Site>counter</Site><Signature>fake-vendor-signature</Signature></Configuration>';
writeFileSync(path.join(work, 'dastine-licensed.xml'), LICENSED);
const fake = spawn(process.execPath, [path.join(root, 'pkg-tests', 'dastine', 'fake-dastine.mjs'), '--licensed-config', path.join(work, 'dastine-licensed.xml'),
  '--port', '0', '--ssl-port', '0', '--virtual-module', path.join(root, 'pkg', 'node', 'virtual.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const fakePort = await new Promise((resolve, reject) => {
  let out = '';
  fake.stdout.on('data', (d) => { out += d; const m = out.match(/listening ws:(\d+)/); if (m) resolve(Number(m[1])); });
  fake.on('exit', (c) => reject(new Error('fake-dastine exited ' + c)));
  setTimeout(() => reject(new Error('fake-dastine did not start')), 20_000);
});
const fakeCtl = (p, body) => fetch(`http://127.0.0.1:${fakePort}${p}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) }).then((x) => x.json());

// The counter's clerks: the virtual PIV card of holder 1 is clerk-7's login card.
const { VirtualCard } = await import(path.join(root, 'pkg', 'node', 'virtual.mjs'));
const codeOf = (profile, holder) => (new VirtualCard({ profile, holder }).info().certificates[0].subject.match(/PNOIR-(\d{10})/) || [])[1];
writeFileSync(path.join(work, 'clerks.json'), JSON.stringify({ [codeOf('piv', 1)]: 'clerk-7', [codeOf('piv', 2)]: 'clerk-9' }));

const db = path.join(work, 'archive.sqlite');
const srv = await startServer(['--archive', `sqlite:${db}`, '--dastine-config', path.join(work, 'dastine-licensed.xml'),
  '--dastine-url', `ws://127.0.0.1:${fakePort}/dastine`, '--clerks', path.join(work, 'clerks.json'), ...serverArgs]);

// A clerk logs in with their own card (the virtual PIV card of `holder`) on the portal's login.
async function loginClerk(page, holder) {
  await page.goto(`${srv.base}/`);
  return page.evaluate(async (h) => {
    const post = (u, b) => fetch(u, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) }).then(async (x) => [x.status, await x.json()]);
    const card = await (await import('/pkg/virtual.js')).connect({ transport: 'virtual', virtual: { profile: 'piv', holder: h } });
    const [, ch] = await post('/api/challenge', {});
    const { token } = await card.authenticate({ nonce: ch.nonce, pin: '123456' });
    return post('/api/login', { nonce: ch.nonce, token });
  }, holder);
}
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
const FA_DIGIT = /[۰-۹]/;

async function makeOnce(page, o) {
  if (o.reload !== false) {
    await page.goto(`${srv.base}/counter-record.html?lang=${o.lang || 'fa'}`);
    await page.waitForSelector('body[data-ready="1"]');
  }
  await page.selectOption('#purpose', o.purpose || 'account-opening');
  await page.selectOption('#card-kind', o.kind);
  if (o.kind === 'ir-nid' || o.kind === 'piv') await page.selectOption('#holder', String(o.holder));
  await page.fill('#pin', o.pin || '');
  await page.fill('#national-code', o.nationalCode || '');
  if (o.face) await page.check('#face-match'); else await page.uncheck('#face-match');
  if (o.cardSign) await page.check('#card-sign'); else if (await page.isVisible('#card-sign')) await page.uncheck('#card-sign');
  await page.click('#make-record');
  await page.waitForFunction(() => ['sealed', 'error'].includes(document.body.dataset.status), null, { timeout: 90_000 });
  return page.evaluate(() => ({
    status: document.body.dataset.status,
    level: document.body.dataset.level || null,
    code: document.getElementById('message').dataset.code || null,
    message: document.getElementById('message').textContent,
    levelText: document.getElementById('level-text').textContent,
    attrs: [...document.querySelectorAll('#attrs tr[data-attr]')].map((tr) => ({ name: tr.dataset.attr, text: tr.textContent, prov: tr.querySelector('.prov').className })),
    seal: document.getElementById('seal-facts').textContent,
    record: document.getElementById('raw-record').textContent,
    pdf: document.getElementById('dl-pdf').getAttribute('href'),
    html: document.getElementById('dl-html').getAttribute('href'),
    main: document.querySelector('main').innerText,
  }));
}

try {
  const cfg = await (await fetch(`${srv.base}/api/counter/config`)).json();
  writeFileSync(path.join(work, 'institution-ca.pem'), cfg.institutionCa.join(''));
  writeFileSync(path.join(work, 'institution.json'), JSON.stringify(cfg.institution));
  const purposes = Object.fromEntries(cfg.institution.purposes.map((p) => [p.id, p.attributes]));

  const ctx = await browser.newContext({ viewport: { width: 1000, height: 1100 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  // No record without a logged-in clerk; a holder who is not a clerk is refused.
  const anon = await makeOnce(page, { kind: 'ir-nid', holder: 0, pin: '1234' });
  const note = await page.isVisible('#clerk-login');
  check('no clerk logged in: the page says to log in, the server refuses with NOT_LOGGED_IN', note && anon.status === 'error' && anon.code === 'NOT_LOGGED_IN', JSON.stringify([note, anon.code]));
  const notClerk = await loginClerk(page, 0);
  const nc = await makeOnce(page, { kind: 'ir-nid', holder: 0, pin: '1234' });
  check('logged in with a card that is not a clerk\'s: CLERK_NOT_AUTHORIZED with its Persian sentence', notClerk[0] === 200 && nc.status === 'error' && nc.code === 'CLERK_NOT_AUTHORIZED' && nc.message.includes(MESSAGES.CLERK_NOT_AUTHORIZED[0]), JSON.stringify([notClerk[0], nc.code]));
  const li = await loginClerk(page, 1);
  await page.goto(`${srv.base}/counter-record.html?lang=fa`);
  await page.waitForSelector('body[data-ready="1"]');
  const shown = await page.evaluate(() => document.getElementById('operator-id').textContent);
  check(`clerk-7 logs in with their own card; the page names them (${shown})`, li[0] === 200 && shown === 'clerk-7', JSON.stringify([li[0], shown]));

  const cases = [
    { name: 'ir-nid certificate', kind: 'ir-nid', holder: 0, level: 'certificate', purpose: 'account-opening', face: true },
    { name: 'ir-nid card-pin', kind: 'ir-nid', holder: 0, pin: '1234', level: 'card-pin', purpose: 'account-opening', face: true, nc: true },
    { name: 'piv card-pin (token)', kind: 'piv', holder: 1, pin: '123456', level: 'card-pin', purpose: 'sim-registration', nc: true },
    { name: 'ir-nid government-service', kind: 'ir-nid', holder: 1, pin: '1234', level: 'card-pin', purpose: 'government-service' },
  ];
  let n = 0;
  for (const c of cases) {
    const nationalCode = c.nc ? codeOf(c.kind, c.holder) : '';
    const r = await makeOnce(page, { ...c, nationalCode });
    if (r.status !== 'sealed') { fail(c.name, JSON.stringify(r)); continue; }
    check(`${c.name}: level ${c.level} computed by the server, operator = the logged-in clerk`, r.level === c.level && r.seal.includes('clerk-7'), [r.level, r.seal]);
    const allowed = purposes[c.purpose];
    const extra = r.attrs.filter((a) => !allowed.includes(a.name));
    check(`${c.name}: discloses only what ${c.purpose} requests (${r.attrs.map((a) => a.name).join(',')})`, extra.length === 0 && r.attrs.length > 0, JSON.stringify(extra));
    check(`${c.name}: Persian page, Persian digits, no raw DN in the main view`, FA_DIGIT.test(r.seal) && !/CN=|serialNumber=|PNOIR/.test(r.main.replace(r.record, '')), r.main.slice(0, 400));
    if (c.face) {
      const f = r.attrs.find((a) => a.name === 'face_match');
      check(`${c.name}: "face matches" from the clerk (provenance operator)`, f && f.prov.includes('operator'), JSON.stringify(f));
    }
    if (c.nc) {
      const f = r.attrs.find((a) => a.name === 'national_code');
      // The Iranian card's certificate holds no national code: the clerk's typed one (operator);
      // the PIV test certificate carries one (chip-certificate), which the typed one must match.
      const want = c.kind === 'ir-nid' ? 'operator' : 'chip-certificate';
      check(`${c.name}: national code disclosed with provenance ${want}`, f && f.prov.includes(want) && f.text.includes(nationalCode.replace(/[0-9]/g, (d) => '۰۱۲۳۴۵۶۷۸۹'[d])), JSON.stringify(f));
    }
    if (c.kind === 'ir-nid') {
      const g = r.attrs.find((a) => a.name === 'given_name');
      const crn = r.attrs.find((a) => a.name === 'card_reference');
      if (g) check(`${c.name}: given name from the signing certificate's G, as a name`, g.prov.includes('chip-certificate') && /[\u0600-\u06FF]/.test(g.text) && !/=/.test(g.text), JSON.stringify(g));
      if (crn) check(`${c.name}: CRN from the chip, in Persian digits`, /[۰-۹]{10}/.test(crn.text), JSON.stringify(crn));
    }
    const file = path.join(work, `rec-${n}-${c.level}.sdjwt`);
    writeFileSync(file, r.record);
    const pdf = await page.evaluate((u) => fetch(u).then(async (x) => [x.status, x.headers.get('content-type'), new Uint8Array(await x.arrayBuffer()).slice(0, 5)]), r.pdf);
    check(`${c.name}: paper copy PDF`, pdf[0] === 200 && pdf[1] === 'application/pdf' && String.fromCharCode(...Object.values(pdf[2])) === '%PDF-', JSON.stringify(pdf));
    if (n === 1) {
      await page.screenshot({ path: path.join(shots, 'record-ir-nid-fa.png'), fullPage: true });
      await page.click('#details-toggle');
      await page.click('#lang-toggle');
      const en = await page.evaluate(() => [document.documentElement.dir, document.getElementById('level-text').textContent, document.getElementById('seal-facts').textContent]);
      check('English on the toggle (LTR, level in words, ASCII digits)', en[0] === 'ltr' && /PIN/.test(en[1]) && !FA_DIGIT.test(en[2]), JSON.stringify(en));
      await page.screenshot({ path: path.join(shots, 'record-ir-nid-en.png'), fullPage: true });
      await page.click('#lang-toggle');
      const pdfBytes = await page.evaluate((u) => fetch(u).then(async (x) => Array.from(new Uint8Array(await x.arrayBuffer()))), r.pdf);
      writeFileSync(path.join(work, 'paper-fa.pdf'), Buffer.from(pdfBytes));
      const hp = await ctx.newPage();
      await hp.goto(`${srv.base}${r.html}`);
      await hp.screenshot({ path: path.join(shots, 'record-paper-fa.png'), fullPage: true });
      await hp.close();
    }
    if (n === 2) {
      await page.screenshot({ path: path.join(shots, 'record-piv-fa.png'), fullPage: true });
      await page.click('#lang-toggle');
      await page.screenshot({ path: path.join(shots, 'record-piv-en.png'), fullPage: true });
      await page.click('#lang-toggle');
    }
    n++;
  }

  // The card signs the record through Dastine (the registry's session): card-signature,
  // marked registry-assisted. The fake service holds the same virtual card as the page.
  {
    await fakeCtl('/__fake/card', { profile: 'ir-nid', holder: 0, layout: 'iran' });
    const c = { kind: 'ir-nid', holder: 0, pin: '1234', purpose: 'account-opening', face: true, cardSign: true };
    const r = await makeOnce(page, c);
    const st = await fakeCtl('/__fake/state');
    if (r.status !== 'sealed') fail('ir-nid card-signature through Dastine', JSON.stringify(r).slice(0, 600));
    else {
      check('ir-nid card-signature through Dastine: level card-signature computed by the server', r.level === 'card-signature', r.level);
      check('the seal facts say the card signed through the registry\'s session (Persian)', /دستینه/.test(r.seal) && FA_DIGIT.test(r.seal), r.seal);
      const explain = await page.evaluate(() => document.getElementById('level-explain').textContent);
      check('the eIDAS reading in Persian words (no English left in the Persian page)', /قابل توجه/.test(explain) && !/[A-Za-z]{4,}/.test(explain.replace('eIDAS', '')), explain);
      check('Dastine was driven one command at a time: SetConfig, NIDAuthenticateByPIN, NIDSign',
        ['SetConfig', 'NIDAuthenticateByPIN', 'SelectCertificateFromTokenByUI', 'NIDSign'].every((k) => st.calls.includes(k)) && st.overlaps === 0, JSON.stringify(st));
      const paper = await page.evaluate((u) => fetch(u).then((x) => x.text()), r.html);
      check('the paper copy says the card signed through the registry\'s session (Dastine)', /دستینه/.test(paper), paper.slice(0, 300));
      writeFileSync(path.join(work, `rec-${n}-card-signature.sdjwt`), r.record);
      n++;
      await page.screenshot({ path: path.join(shots, 'record-card-signature-fa.png'), fullPage: true });
      await page.click('#lang-toggle');
      const en = await page.evaluate(() => document.getElementById('seal-facts').textContent);
      check('English: the card signature route in words', /registry's session \(Dastine\)/.test(en), en);
      await page.screenshot({ path: path.join(shots, 'record-card-signature-en.png'), fullPage: true });
      await page.click('#lang-toggle');
    }
    // Another card in Dastine than the one read at the counter: refused, not sealed.
    await fakeCtl('/__fake/card', { profile: 'ir-nid', holder: 1, layout: 'iran' });
    const other = await makeOnce(page, c);
    check('a signature by another card than the one read: RECORD_CARD_SIGNATURE_INVALID',
      other.status === 'error' && other.code === 'RECORD_CARD_SIGNATURE_INVALID' && other.message.includes(MESSAGES.RECORD_CARD_SIGNATURE_INVALID[0]), JSON.stringify(other).slice(0, 400));
    await fakeCtl('/__fake/card', { profile: 'ir-nid', holder: 0, layout: 'iran' });
    // Dastine's own errors reach the clerk as their codes and sentences.
    for (const [command, result, code] of [['NIDSign', '211', 'DASTINE_NID_SIGNING_SERVER_UNAVAILABLE'], ['NIDAuthenticateByPIN', '14', 'DASTINE_PIN_WRONG'], ['NIDSign', '206', 'DASTINE_NID_SM_SERVER_UNREACHABLE']]) {
      await fakeCtl('/__fake/inject', { command, result });
      const e = await makeOnce(page, c);
      check(`Dastine ${command} error ${result} at the counter → ${code} with its Persian sentence`,
        e.status === 'error' && e.code === code && MESSAGES[code] && e.message.includes(MESSAGES[code][0]), JSON.stringify(e).slice(0, 300));
    }
    await fakeCtl('/__fake/reset');
    // The two-step endpoints, straight: a draft is used once; an unknown one is 404.
    const two = await page.evaluate(async (der) => {
      const post = (u, b) => fetch(u, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) }).then(async (x) => [x.status, await x.json()]);
      const d = await post('/api/counter/record/draft', { purpose: 'sim-registration', operator: { id: 'clerk-7' }, card: { chipType: 'virtual-ir-nid', holderCertificate: der, pin: 'accepted' } });
      const junk = await post(`/api/counter/record/${d[1].draftId}/card-signature`, { cms: 'MIIB' });
      const again = await post(`/api/counter/record/${d[1].draftId}/card-signature`, { cms: 'MIIB' });
      const unknown = await post(`/api/counter/record/${'A'.repeat(40)}/card-signature`, { cms: 'MIIB' });
      return { draft: [d[0], d[1].level, typeof d[1].challenge === 'string' && atob(d[1].challenge).length], junk: [junk[0], junk[1].error && junk[1].error.code], again: [again[0], again[1].error && again[1].error.code], unknown: [unknown[0], unknown[1].error && unknown[1].error.code] };
    }, new VirtualCard({ profile: 'ir-nid', holder: 0, layout: 'iran' }).info().certificates.find((x) => x.slot === 'ir-nid-sign').der);
    // Another clerk cannot finish clerk-7's draft (it stays waiting for clerk-7).
    const ctx9 = await browser.newContext();
    const op = await ctx9.newPage();
    await loginClerk(op, 2);
    const mixed = await page.evaluate(async (der) => {
      const post = (u, b) => fetch(u, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) }).then(async (x) => [x.status, await x.json()]);
      const d = await post('/api/counter/record/draft', { purpose: 'sim-registration', operator: {}, card: { chipType: 'virtual-ir-nid', holderCertificate: der, pin: 'accepted' } });
      return d[1].draftId;
    }, new VirtualCard({ profile: 'ir-nid', holder: 0, layout: 'iran' }).info().certificates.find((x) => x.slot === 'ir-nid-sign').der);
    const theirs = await op.evaluate((id) => fetch(`/api/counter/record/${id}/card-signature`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cms: 'MIIB' }) }).then(async (x) => [x.status, (await x.json()).error.code]), mixed);
    const mine = await page.evaluate((id) => fetch(`/api/counter/record/${id}/card-signature`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cms: 'MIIB' }) }).then(async (x) => [x.status, (await x.json()).error.code]), mixed);
    await ctx9.close();
    check(`another clerk cannot finish a draft (${theirs.join(' ')}); it is still there for its clerk (${mine.join(' ')})`,
      theirs[0] === 404 && mine[0] === 422 && mine[1] === 'RECORD_CARD_SIGNATURE_INVALID', JSON.stringify([theirs, mine]));
    check(`draft: 200, level card-pin, a 32-byte challenge (${JSON.stringify(two.draft)}); a CMS that is not one: 422 RECORD_CARD_SIGNATURE_INVALID; the draft is then gone (404), an unknown one 404`,
      two.draft[0] === 200 && two.draft[1] === 'card-pin' && two.draft[2] === 32 && two.junk[0] === 422 && two.junk[1] === 'RECORD_CARD_SIGNATURE_INVALID'
      && two.again[0] === 404 && two.again[1] === 'NOT_FOUND' && two.unknown[0] === 404 && two.unknown[1] === 'NOT_FOUND', JSON.stringify(two));
  }

  // A real reader straight from the page (issue 18): the counter offers Web Serial and WebUSB
  // where the browser has them; here the fake navigator.serial / navigator.usb of the
  // webtransport suite (pkg-tests/webtransport/fake-devices.js) carry the bytes to the Rust reader
  // emulators (test-kit wasm) holding the virtual Iranian card. Then the card signs through Dastine.
  {
    const dctx = await browser.newContext({ viewport: { width: 1000, height: 1100 } });
    await dctx.addInitScript({ path: path.join(root, 'pkg-tests', 'webtransport', 'fake-devices.js') });
    const dp = await dctx.newPage();
    dp.on('pageerror', (e) => errors.push(String(e)));
    await loginClerk(dp, 1);
    const arm = (kind) => dp.evaluate(async (k) => {
      const makeTestkit = (await import('/pkg/glue-testkit.js')).default;
      const tk = makeTestkit();
      tk.initSync({ module: await WebAssembly.compileStreaming(fetch('/pkg/testkit.wasm')) });
      const f = window.__fakeDevices;
      if (k === 'webserial') {
        const emu = new tk.ReaderEmulator('gempc-twin', { profile: 'ir-nid', holder: 0, layout: 'iran', timeExtensions: 1 });
        f.serial.chooser = () => new f.SerialPort(emu);
      } else {
        const emu = new tk.ReaderEmulator('usb-ccid-apdu', { profile: 'ir-nid', holder: 0, layout: 'iran', usbClass: 0xFF });
        f.usb.chooser = () => new f.UsbDevice(emu);
      }
    }, kind);
    for (const [kind, cardSign, level] of [['webserial', false, 'card-pin'], ['webusb', true, 'card-signature']]) {
      await dp.goto(`${srv.base}/counter-record.html?lang=fa`);
      await dp.waitForSelector('body[data-ready="1"]');
      const offered = await dp.evaluate(() => [...document.querySelectorAll('#card-kind option')].map((o) => o.value));
      await arm(kind);
      const r = await makeOnce(dp, { kind, pin: '1234', purpose: 'account-opening', face: true, cardSign, reload: false });
      const name = `${kind === 'webserial' ? 'Web Serial GemPC Twin' : 'WebUSB CCID'} reader at the counter${cardSign ? ' + Dastine' : ''}`;
      if (r.status !== 'sealed') { fail(name, JSON.stringify(r).slice(0, 500)); continue; }
      check(`${name}: offered (${offered.join(',')}), the Iranian card read and its PIN checked over the reader → ${r.level}`, offered.includes(kind) && r.level === level, r.level);
      const g = r.attrs.find((a) => a.name === 'given_name');
      check(`${name}: names from the card's signing certificate`, g && /[\u0600-\u06FF]/.test(g.text), JSON.stringify(r.attrs));
      writeFileSync(path.join(work, `rec-${n}-${level}.sdjwt`), r.record);
      n++;
      if (kind === 'webusb') await dp.screenshot({ path: path.join(shots, 'record-webusb-dastine-fa.png'), fullPage: true });
    }
    await dctx.close();
  }

  // The npm package in the page: makeRecord seals with a non-extractable WebCrypto ES256 key
  // (imported from the test institution's PKCS#8 with extractable: false), verifyRecord checks it.
  const kitDir = process.env.RECORD_KIT;
  if (kitDir) {
    const rk = (p) => readFileSync(path.join(kitDir, p), 'utf8');
    const kit = {
      key: rk('institution/terminal.key'), root: rk('institution/root.pem'),
      opts: {
        institution: rk('institution/institution.json'), purpose: 'account-opening', terminal: 'branch-1/counter-web', operator: 'clerk-7',
        card: JSON.parse(rk('cards/piv-1.json')), operatorInput: { faceMatch: true },
        registry: { trustAnchors: [rk('registry/root.pem')], intermediates: [rk('registry/ca-ec.pem'), rk('registry/ca-rsa.pem')] },
        terminalChain: [rk('institution/terminal.pem'), rk('institution/terminal-ca.pem')], at: process.env.RECORD_AT,
      },
    };
    const w = await page.evaluate(async (k) => {
      try {
        const { makeRecord, verifyRecord } = await import('/pkg/index.js');
        const der = Uint8Array.from(atob(k.key.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '')), (c) => c.charCodeAt(0));
        const key = await crypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
        let exported = 'refused';
        try { await crypto.subtle.exportKey('pkcs8', key); exported = 'exported'; } catch { /* non-extractable */ }
        const m = await makeRecord({ ...k.opts, terminalKey: key });
        const v = await verifyRecord(m.record, { institutionCa: [k.root], institution: k.opts.institution });
        return { extractable: key.extractable, exported, level: m.level, verified: v.level, attrs: v.attributes.map((a) => a.name), record: m.record };
      } catch (e) { return { error: `${e.code}: ${e.message}` }; }
    }, kit);
    writeFileSync(path.join(work, 'browser-webcrypto.sdjwt'), w.record || '');
    check(`browser makeRecord with a non-extractable WebCrypto key (export ${w.exported}): ${w.level}, verifyRecord in the page: ${w.verified}`,
      !w.error && w.extractable === false && w.exported === 'refused' && w.level === 'card-pin' && w.verified === 'card-pin', JSON.stringify(w).slice(0, 300));
  }

  // Refusals, each with its code and message.
  const refused = async (name, o, code) => {
    const r = await makeOnce(page, o);
    const want = MESSAGES[code] && MESSAGES[code][0];
    check(`${name}: refused with ${code}`, r.status === 'error' && r.code === code && want && r.message.includes(want), JSON.stringify({ code: r.code, message: r.message }));
  };
  await refused('wrong PIN on the Iranian card', { kind: 'ir-nid', holder: 0, pin: '999999' }, 'PIN_WRONG');
  await refused('revoked PIV card', { kind: 'piv', holder: 3, pin: '123456' }, 'CERT_REVOKED');
  await page.screenshot({ path: path.join(shots, 'record-error-fa.png'), fullPage: true });
  await refused('expired PIV card', { kind: 'piv', holder: 4, pin: '123456' }, 'CERT_EXPIRED');
  await refused('national code that is not the one in the PIV certificate', { kind: 'piv', holder: 1, pin: '123456', purpose: 'sim-registration', nationalCode: '0499370899' }, 'RECORD_EVIDENCE_CONFLICT');

  // Hostile requests straight at the endpoint: stable codes in the error envelope.
  const post = (body, ct = 'application/json') => page.evaluate(async ([b, t]) => {
    const x = await fetch('/api/counter/record', { method: 'POST', headers: { 'content-type': t }, body: b });
    return [x.status, await x.json().catch(() => null)];
  }, [typeof body === 'string' ? body : JSON.stringify(body), ct]);
  const info = new VirtualCard({ profile: 'ir-nid', holder: 0 }).info();
  const der = info.certificates.find((c) => c.slot === 'ir-nid-sign').der;
  const good = { purpose: 'account-opening', operator: { id: 'clerk-7' }, card: { chipType: 'virtual-ir-nid', holderCertificate: der, pin: 'not-tried' } };
  const hostile = [
    ['a level from the caller', { ...good, level: 'card-signature' }, 400, 'BAD_REQUEST'],
    ['an evidence field from the caller', { ...good, card: { ...good.card, cardSignature: 'x' } }, 400, 'BAD_REQUEST'],
    ['an unknown purpose', { ...good, purpose: 'loan' }, 422, 'RECORD_PURPOSE_UNKNOWN'],
    ['a national code with a wrong check digit', { ...good, operator: { id: 'clerk-7', nationalCode: '0012345678' } }, 422, 'NATIONAL_CODE_INVALID'],
    ['a certificate that is not one', { ...good, card: { ...good.card, holderCertificate: 'AAAA' } }, 422, 'CERT_MALFORMED'],
    ['a token without its nonce', { ...good, token: {} }, 400, 'BAD_REQUEST'],
    ['a forged token', { ...good, nonce: 'x'.repeat(44), token: { format: 'web-eid:1.0' } }, 401, 'TOKEN_MALFORMED'],
    ['an operator id that is not the logged-in clerk\'s', { ...good, operator: { id: 'clerk-8' } }, 403, 'CLERK_NOT_AUTHORIZED'],
    ['not JSON', '{"purpose":', 400, 'BAD_REQUEST'],
    ['a body over the limit', JSON.stringify({ ...good, pad: 'x'.repeat(60_000) }), 413, null],
  ];
  for (const [name, body, status, code] of hostile) {
    const [st, j] = await post(body);
    const env = j && j.error && typeof j.error.code === 'string';
    check(`hostile: ${name} → ${st} ${env ? j.error.code : '?'}`, st === status && env && (code === null || j.error.code === code), JSON.stringify([st, j]));
  }
  const [st, j] = await post(JSON.stringify(good), 'text/plain');
  check('hostile: not application/json → 415 in the envelope', st === 415 && j && j.error, JSON.stringify([st, j]));
  const bad = await page.evaluate(() => fetch('/api/counter/record/../../etc/en.pdf').then((x) => x.status));
  const unknown = await page.evaluate(() => fetch(`/api/counter/record/${'A'.repeat(43)}/fa.pdf`).then(async (x) => [x.status, (await x.json()).error.code]));
  check('paper copy of an unknown record: 404 with a code', bad === 404 && unknown[0] === 404, JSON.stringify([bad, unknown]));
  check('no page errors', errors.length === 0, errors.join('; '));
} catch (e) {
  fail('record e2e', e.stack || e);
} finally {
  await browser.close();
  srv.proc.kill();
  fake.kill();
}
console.log(`record-e2e: ${failed} failed`);
process.exit(failed ? 1 : 0);
