// Serves pkg/ and this directory on 127.0.0.1 and runs page.js in headless Chromium with the
// fake devices of fake-devices.js injected. Prints "ok NAME" / "FAIL NAME: why", "note bench
// ..." lines and "webtransport: N failed". Usage: node run.mjs REPO_ROOT
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(process.argv[2] || path.join(here, '..', '..'));
const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm' };
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  let file;
  if (url.pathname === '/') file = path.join(here, 'index.html');
  else if (url.pathname.startsWith('/pkg/')) file = path.normalize(path.join(repo, url.pathname));
  else if (url.pathname.startsWith('/webtransport/')) file = path.normalize(path.join(here, url.pathname.slice('/webtransport/'.length)));
  if (!file || !(file.startsWith(path.join(repo, 'pkg')) || file.startsWith(here))) { res.writeHead(404).end(); return; }
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
const BENCH_LABEL = {
  serialTwinPiv: 'webserial gempc-twin [1 CCID time extension + S(WTX) per block, reads split at random]',
  serialPn532Piv: 'webserial pn532',
  serialProbePiv: 'webserial auto-probe -> pn532 [includes the 1.5 s probe time-out]',
  usbVendorPiv: 'webusb ccid [1 time extension per XfrBlock]',
  usbApduPiv: 'webusb ccid, short-APDU level [1 time extension per XfrBlock]',
  usbExtendedPiv: 'webusb ccid, extended-APDU level [responses in 64-byte chained blocks]',
  smartCardPiv: 'smartcard [fake PC/SC = reader session + gempc-twin emulator]',
  serialTwinIr: 'webserial gempc-twin [2 time extensions + S(WTX 3) per block]',
  serialPn532Ir: 'webserial pn532',
  usbVendorIr: 'webusb ccid',
};
const check = (cond, name, detail) => (cond ? ok(name) : fail(name, JSON.stringify(detail)));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (process.env.VERBOSE) console.log('page:', m.text()); });
  await page.addInitScript({ path: path.join(here, 'fake-devices.js') });
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.__results !== undefined, null, { timeout: 240_000 });
  const r = await page.evaluate(() => window.__results);
  if (r.fatal) fail('page', r.fatal);
  const K = r.checks;
  const piv = (k, label) => {
    const c = K[k];
    check(c && c.verified && c.origin === base && c.statuses.endsWith('signing,done') && c.progress > 0,
      `${label}: PIV card -> authenticate -> a token that verifies (origin ${base})`, c);
  };
  piv('serialTwinPiv', 'webserial gempc-twin (time extensions, WTX, bytes split at random)');
  piv('serialPn532Piv', 'webserial pn532 (contactless)');
  check(K.serialProbePiv && K.serialProbePiv.verified && K.serialProbePiv.reader.kind === 'pn532',
    'webserial reader probing: a PN532 found after the GemPC Twin guess failed', K.serialProbePiv);
  piv('usbVendorPiv', 'webusb (vendor-class CCID reader, 64-byte bulk packets)');
  piv('usbApduPiv', 'webusb (short-APDU-level CCID reader: the APDU in XfrBlock as it is)');
  piv('usbExtendedPiv', 'webusb (extended-APDU-level CCID reader: responses collected from chained blocks)');
  piv('smartCardPiv', 'smartcard (navigator.smartCard)');
  const ir = (k, label) => {
    const c = K[k];
    check(c && c.profile === 'ir-nid' && c.certificates.join(',') === 'ir-nid-auth,ir-nid-sign' && c.pinVerified === true && c.wrongPin === 'PIN_WRONG',
      `${label}: Iranian card -> both certificates read, ID PIN checked (a wrong one PIN_WRONG)`, c);
  };
  ir('serialTwinIr', 'webserial gempc-twin');
  ir('serialPn532Ir', 'webserial pn532');
  ir('usbVendorIr', 'webusb');
  for (const [k, label] of [['removedTwin', 'webserial gempc-twin'], ['removedPn532', 'webserial pn532'], ['removedUsb', 'webusb'], ['removedSmartCard', 'smartcard']]) {
    check(K[k] && K[k].code === 'CARD_REMOVED' && K[k].isHoviatError, `${label}: card removed mid-command -> CARD_REMOVED`, K[k]);
  }
  const pc = K.protectedClass || {};
  check(pc.code === 'WEBUSB_PROTECTED_CLASS' && /extension/.test(pc.message) && /Electron/.test(pc.message) && /Isolated Web App/.test(pc.message) && /vendor/.test(pc.message),
    'webusb protected class (SecurityError) -> WEBUSB_PROTECTED_CLASS naming the extension, Electron / Isolated Web App kiosks, vendor-class readers', pc);
  check(K.usbMissing && K.usbMissing.code === 'TRANSPORT_UNAVAILABLE' && K.usbInNavigator === 'undefined' && /Firefox/.test(K.usbMissing.message),
    'navigator.usb undefined (Firefox) -> TRANSPORT_UNAVAILABLE with the reason', K.usbMissing);
  check(K.serialMissing && K.serialMissing.code === 'TRANSPORT_UNAVAILABLE', 'navigator.serial undefined -> TRANSPORT_UNAVAILABLE', K.serialMissing);
  check(K.smartCardMissing && K.smartCardMissing.code === 'TRANSPORT_UNAVAILABLE' && /Isolated Web App/.test(K.smartCardMissing.message),
    'navigator.smartCard missing -> TRANSPORT_UNAVAILABLE (Isolated Web Apps only)', K.smartCardMissing);
  check(K.usbChooserCancelled && K.usbChooserCancelled.code === 'USER_CANCELLED', 'USB chooser cancelled -> USER_CANCELLED', K.usbChooserCancelled);
  check(K.serialChooserCancelled && K.serialChooserCancelled.code === 'USER_CANCELLED', 'serial chooser cancelled -> USER_CANCELLED', K.serialChooserCancelled);
  check(K.aborted && K.aborted.code === 'USER_CANCELLED' && K.afterAbort === 'piv',
    'AbortSignal mid-authentication -> USER_CANCELLED; the card works again afterwards', { aborted: K.aborted, afterAbort: K.afterAbort });
  for (const [k, label] of [['recoverTwin', 'webserial gempc-twin'], ['recoverPn532', 'webserial pn532'], ['recoverUsb', 'webusb (TPDU level)'], ['recoverUsbApdu', 'webusb (short-APDU level)']]) {
    const c = K[k] || {};
    const a = c.abort || {};
    const usb = k.startsWith('recoverUsb');
    const ctl = (a.controls || []).filter((x) => x.request === 1);
    const ctlOk = !usb || (ctl.length === 1 && ctl[0].requestType === 'class' && ctl[0].recipient === 'interface' && ctl[0].index === 0 && (ctl[0].value & 0xFF) === 0);
    check(a.first === 'USER_CANCELLED' && a.sawStall && a.aborts === 1 && a.verified === true && ctlOk,
      `${label}: AbortSignal while the reader withholds its answer -> USER_CANCELLED; the reader aborted${usb ? ' (ABORT class request + PC_to_RDR_Abort, same bSeq)' : ''}, its late answer skipped; authenticate again on the same connection -> a token that verifies`, a);
    const t = c.timeout || {};
    check(t.first === 'CARD_TIMEOUT' && t.aborts === 1 && t.profile === 'piv' && t.verified === true,
      `${label}: the reader stalls once -> CARD_TIMEOUT; then info() and authenticate on the same connection work`, t);
    const h = c.hang || {};
    check(h.first === 'CARD_TIMEOUT' && /did not recover/.test(h.firstMessage) && h.next && h.next.code === 'TRANSPORT_ERROR' && /did not recover/.test(h.next.message) && /connect again/.test(h.next.message) && h.ms < 4000 && h.aborts === 0,
      `${label}: a reader that never confirms the abort -> CARD_TIMEOUT, then TRANSPORT_ERROR "connect again" (no hang)`, h);
  }
  const an = K.autoNothing || {};
  check(an.code === 'NO_TRANSPORT' && /extension/.test(an.message) && /webserial/.test(an.message) && /webusb/.test(an.message) && /smartcard/.test(an.message),
    'auto with nothing granted -> NO_TRANSPORT saying why for each transport', an);
  const ag = K.autoGranted || {};
  check(ag.transport === 'webserial' && ag.choosersOpened === 0 && ag.unavailable && ag.unavailable.extension && ag.unavailable.smartcard,
    'auto picks a serial port the site was granted (no chooser) and says why not the others', ag);
  errors.length === 0 ? ok('no uncaught page errors') : fail('page errors', errors.join(' | '));
  for (const b of r.bench) {
    console.log(`note bench ${b.profile} ${b.op} over ${BENCH_LABEL[b.transport] || b.transport}: ${b.card.apdus} APDUs (${b.card.bytesOut} B to the card, ${b.card.bytesIn} B back), link ${b.hostBytes} B host->reader / ${b.readerBytes} B reader->host, ${b.ms.toFixed(1)} ms connect + operation`);
  }
} finally {
  await browser.close();
  server.close();
}
console.log(`webtransport: ${failed} failed`);
process.exit(failed ? 1 : 0);
