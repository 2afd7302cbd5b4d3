// The package's real direct-transport adapters (pkg/web: webserial, webusb, smartcard) against
// the Rust reader emulators (GemPC Twin, PN532, USB CCID; test-kit wasm) behind the fake
// navigator.serial / navigator.usb / navigator.smartCard of fake-devices.js.
import * as hoviat from '/pkg/web/index.js';
import * as virtual from '/pkg/web/virtual.js';
import makeTestkit from '/pkg/web/glue-testkit.js';

const AT = '2026-11-23T10:00:00Z';
const ORIGIN = location.origin;
const fake = window.__fakeDevices;
const results = { checks: {}, bench: [], fatal: null };

async function caught(f) {
  try { await f(); return 'NO ERROR'; } catch (e) { return { code: e.code, message: e.message, isHoviatError: e instanceof hoviat.HoviatError }; }
}

try {
  await hoviat.init();
  await virtual.init();
  const tk = makeTestkit();
  tk.initSync({ module: await WebAssembly.compileStreaming(fetch('/pkg/web/testkit.wasm')) });
  const emulator = (kind, o) => new tk.ReaderEmulator(kind, { at: AT, ...o });
  // The registry the emulated cards come from (same seed and day): to verify their tokens.
  const registry = async (profile, holder) => (await virtual.connect({ transport: 'virtual', virtual: { profile, holder, at: AT } })).testRegistry;
  const K = results.checks;

  // --- PIV authentication over each transport; the token verifies ----------------------------
  const pivAuth = async (name, transport, emu, connectOpts) => {
    const statuses = [];
    const progress = [];
    const t0 = performance.now();
    const card = await hoviat.connect({ transport, onStatus: (s) => statuses.push(s), onProgress: (p) => progress.push(p), ...connectOpts });
    const nonce = hoviat.createNonce();
    const { token, origin, traffic } = await card.authenticate({ nonce, pin: '123456' });
    const ms = performance.now() - t0;
    card.close && await card.close();
    const who = await hoviat.verifyToken(token, { origin: ORIGIN, nonce, at: AT, ...(await registry('piv', 1)) });
    K[name] = { origin, verified: /^\d{10}$/.test(who.holder.nationalCode), statuses: statuses.join(','), progress: progress.length, reader: card.reader, transport: card.transport };
    results.bench.push({ profile: 'piv', op: 'authenticate', transport: name, ms, ...emu.traffic(), card: traffic });
  };

  let emu = emulator('gempc-twin', { profile: 'piv', holder: 1, timeExtensions: 1, wtx: 2 });
  fake.serial.chooser = () => new fake.SerialPort(emu, { usbVendorId: 0x08E6, usbProductId: 0x3437 });
  await pivAuth('serialTwinPiv', 'webserial', emu, { webSerial: { reader: 'gempc-twin' } });

  emu = emulator('pn532', { profile: 'piv', holder: 1 });
  fake.serial.chooser = () => new fake.SerialPort(emu);
  await pivAuth('serialPn532Piv', 'webserial', emu, { webSerial: { reader: 'pn532' } });

  // Probing: reader 'auto' on a PN532 (the GemPC Twin guess fails first).
  emu = emulator('pn532', { profile: 'piv', holder: 1 });
  fake.serial.chooser = () => new fake.SerialPort(emu);
  await pivAuth('serialProbePiv', 'webserial', emu, {});

  emu = emulator('usb-ccid', { profile: 'piv', holder: 1, usbClass: 0xFF, timeExtensions: 1 });
  fake.usb.chooser = () => new fake.UsbDevice(emu);
  await pivAuth('usbVendorPiv', 'webusb', emu, {});
  // A short-APDU-level reader (what most desktop USB readers declare): no T=1 on the host.
  emu = emulator('usb-ccid-apdu', { profile: 'piv', holder: 1, usbClass: 0xFF, timeExtensions: 1 });
  fake.usb.chooser = () => new fake.UsbDevice(emu);
  await pivAuth('usbApduPiv', 'webusb', emu, {});
  // An extended-APDU-level reader returning responses in 64-byte chained blocks.
  emu = emulator('usb-ccid-ext', { profile: 'piv', holder: 1, usbClass: 0xFF });
  fake.usb.chooser = () => new fake.UsbDevice(emu);
  await pivAuth('usbExtendedPiv', 'webusb', emu, {});

  // The Web Smart Card API: the platform moves APDUs (here a reader session in the test kit
  // in front of a GemPC Twin emulator plays the platform's PC/SC).
  const scReader = (e) => {
    const s = new tk.ReaderSession('gempc-twin');
    const run = (out) => { for (let i = 0; i < 64; i++) { const st = s.feed(e.feed(out)); if (st.done) return st.done; if (!st.send) throw new Error('emulator silent'); out = st.send; } throw new Error('no end'); };
    return { name: 'Emulated GemPC Twin 00 00', power: () => run(s.start()), transmit: (apdu) => { try { return run(s.transmit(apdu)); } catch (err) { if (err.code === 'CARD_REMOVED') return null; throw err; } } };
  };
  emu = emulator('gempc-twin', { profile: 'piv', holder: 1 });
  fake.smartCardMissing = false;
  fake.smartCard.readers = [scReader(emu)];
  await pivAuth('smartCardPiv', 'smartcard', emu, {});

  // --- The Iranian card: certificates read, ID PIN checked -----------------------------------
  const irCard = async (name, transport, emu, connectOpts) => {
    const t0 = performance.now();
    const card = await hoviat.connect({ transport, ...connectOpts });
    const info = await card.info();
    const ms = performance.now() - t0;
    results.bench.push({ profile: 'ir-nid', op: 'info', transport: name, ms, ...emu.traffic(), card: info.traffic });
    const pin = await card.verifyPin({ kind: 'id', pin: '1234' });
    const wrong = await caught(() => card.verifyPin({ kind: 'id', pin: '9999' }));
    card.close && await card.close();
    K[name] = { profile: info.profile, certificates: info.certificates.map((c) => c.slot), pinVerified: pin.pinVerified, wrongPin: wrong.code, atr: card.atr };
  };
  emu = emulator('gempc-twin', { profile: 'ir-nid', holder: 0, timeExtensions: 2, wtx: 3 });
  fake.serial.chooser = () => new fake.SerialPort(emu);
  await irCard('serialTwinIr', 'webserial', emu, { webSerial: { reader: 'gempc-twin' } });
  emu = emulator('pn532', { profile: 'ir-nid', holder: 0 });
  fake.serial.chooser = () => new fake.SerialPort(emu);
  await irCard('serialPn532Ir', 'webserial', emu, { webSerial: { reader: 'pn532' } });
  emu = emulator('usb-ccid', { profile: 'ir-nid', holder: 0, usbClass: 0xFF });
  fake.usb.chooser = () => new fake.UsbDevice(emu);
  await irCard('usbVendorIr', 'webusb', emu, {});

  // --- Card removed mid-command ------------------------------------------------------------------
  const removed = async (transport, emu, connectOpts) => caught(async () => {
    const card = await hoviat.connect({ transport, ...connectOpts });
    await card.authenticate({ nonce: hoviat.createNonce(), pin: '123456' });
  });
  emu = emulator('gempc-twin', { profile: 'piv', holder: 1, removeAfter: 3 });
  fake.serial.chooser = () => new fake.SerialPort(emu);
  K.removedTwin = await removed('webserial', emu, { webSerial: { reader: 'gempc-twin' } });
  emu = emulator('pn532', { profile: 'piv', holder: 1, removeAfter: 3 });
  fake.serial.chooser = () => new fake.SerialPort(emu);
  K.removedPn532 = await removed('webserial', emu, { webSerial: { reader: 'pn532' } });
  emu = emulator('usb-ccid', { profile: 'piv', holder: 1, removeAfter: 3, usbClass: 0xFF });
  fake.usb.chooser = () => new fake.UsbDevice(emu);
  K.removedUsb = await removed('webusb', emu, {});
  emu = emulator('gempc-twin', { profile: 'piv', holder: 1, removeAfter: 3 });
  fake.smartCard.readers = [scReader(emu)];
  K.removedSmartCard = await removed('smartcard', emu, {});

  // --- Refusals, each its code -------------------------------------------------------------------
  emu = emulator('usb-ccid', { profile: 'piv', holder: 1, usbClass: 0x0B });
  fake.usb.chooser = () => new fake.UsbDevice(emu, { protectedClass: true });
  K.protectedClass = await caught(() => hoviat.connect({ transport: 'webusb' }));
  fake.usb.chooser = null;
  K.usbChooserCancelled = await caught(() => hoviat.connect({ transport: 'webusb' }));
  fake.serial.chooser = null;
  K.serialChooserCancelled = await caught(() => hoviat.connect({ transport: 'webserial' }));
  fake.usbMissing = true;
  K.usbMissing = await caught(() => hoviat.connect({ transport: 'webusb' }));
  K.usbInNavigator = typeof navigator.usb;
  fake.usbMissing = false;
  fake.serialMissing = true;
  K.serialMissing = await caught(() => hoviat.connect({ transport: 'webserial' }));
  fake.serialMissing = false;
  fake.smartCardMissing = true;
  K.smartCardMissing = await caught(() => hoviat.connect({ transport: 'smartcard' }));

  // --- Cancellation (AbortSignal) mid-operation ------------------------------------------------
  emu = emulator('gempc-twin', { profile: 'piv', holder: 1 });
  fake.serial.chooser = () => new fake.SerialPort(emu);
  {
    const ac = new AbortController();
    const card = await hoviat.connect({ transport: 'webserial', webSerial: { reader: 'gempc-twin' }, onStatus: (s) => { if (s === 'signing') ac.abort(); } });
    K.aborted = await caught(() => card.authenticate({ nonce: hoviat.createNonce(), pin: '123456', signal: ac.signal }));
    // The same card works again after the cancelled operation.
    K.afterAbort = (await card.info()).profile;
    await card.close();
  }

  // --- Recovery after an exchange abandoned half-way (the reader withholds its answer) --------
  // The emulated reader stalls once mid-authentication; the page cancels (AbortSignal) or times
  // out; the adapter resynchronises the reader (CCID: ABORT request + PC_to_RDR_Abort, late
  // answer skipped by bSeq, T=1 S(RESYNCH); PN532: ACK) and the same connection works again.
  // A reader that never confirms: the connection is given up with a clear error, not a hang.
  const attach = (transport, emu) => {
    if (transport === 'webusb') { const d = new fake.UsbDevice(emu); fake.usb.chooser = () => d; return d; }
    const p = new fake.SerialPort(emu); fake.serial.chooser = () => p; return p;
  };
  const authOk = async (card) => {
    try {
      const nonce = hoviat.createNonce();
      const { token } = await card.authenticate({ nonce, pin: '123456' });
      const who = await hoviat.verifyToken(token, { origin: ORIGIN, nonce, at: AT, ...(await registry('piv', 1)) });
      return /^\d{10}$/.test(who.holder.nationalCode);
    } catch (e) { return { code: e.code, message: e.message }; }
  };
  const recovery = async (transport, kind, connectOpts, emuOpts) => {
    const r = {};
    // 1. AbortSignal while the reader withholds its answer; its late answer follows the abort.
    let emu = emulator(kind, { profile: 'piv', holder: 1, stallAfter: 2, lateAnswer: true, ...emuOpts });
    let dev = attach(transport, emu);
    let card = await hoviat.connect({ transport, ...connectOpts });
    const ac = new AbortController();
    let sawStall = false;
    const watch = setInterval(() => { if (emu.stalled && !sawStall) { sawStall = true; ac.abort(); } }, 2);
    const first = await caught(() => card.authenticate({ nonce: hoviat.createNonce(), pin: '123456', signal: ac.signal }));
    clearInterval(watch);
    r.abort = { first: first.code, sawStall, verified: await authOk(card), aborts: emu.traffic().aborts, controls: dev.controls || [] };
    await card.close();
    // 2. A time-out while the reader withholds its answer (no late answer).
    emu = emulator(kind, { profile: 'piv', holder: 1, stallAfter: 2, ...emuOpts });
    dev = attach(transport, emu);
    card = await hoviat.connect({ transport, timeoutMs: 400, ...connectOpts });
    const t = await caught(() => card.authenticate({ nonce: hoviat.createNonce(), pin: '123456' }));
    let profile;
    try { profile = (await card.info()).profile; } catch (e) { profile = e.code; }
    r.timeout = { first: t.code, profile, verified: await authOk(card), aborts: emu.traffic().aborts };
    await card.close();
    // 3. A reader that stalls and never confirms the abort.
    emu = emulator(kind, { profile: 'piv', holder: 1, stallAfter: 2, hang: true, ...emuOpts });
    dev = attach(transport, emu);
    card = await hoviat.connect({ transport, timeoutMs: 400, ...connectOpts });
    const t0 = performance.now();
    const h = await caught(() => card.authenticate({ nonce: hoviat.createNonce(), pin: '123456' }));
    const next = await caught(() => card.info());
    r.hang = { first: h.code, firstMessage: h.message, next, ms: performance.now() - t0, aborts: emu.traffic().aborts };
    await card.close();
    return r;
  };
  K.recoverTwin = await recovery('webserial', 'gempc-twin', { webSerial: { reader: 'gempc-twin' } }, { timeExtensions: 1, wtx: 2 });
  K.recoverPn532 = await recovery('webserial', 'pn532', { webSerial: { reader: 'pn532' } }, {});
  K.recoverUsb = await recovery('webusb', 'usb-ccid', {}, { usbClass: 0xFF, timeExtensions: 1 });
  K.recoverUsbApdu = await recovery('webusb', 'usb-ccid-apdu', {}, { usbClass: 0xFF });

  // --- auto: no extension here; a serial port this site was granted is used -------------------
  fake.serial.chooser = null;
  K.autoNothing = await caught(() => hoviat.connect({ transport: 'auto', timeoutMs: 300 }));
  emu = emulator('gempc-twin', { profile: 'piv', holder: 1 });
  fake.serial.granted = [new fake.SerialPort(emu)];
  {
    const before = fake.serial.requests;
    const card = await hoviat.connect({ transport: 'auto', timeoutMs: 300 });
    K.autoGranted = { transport: card.transport, unavailable: card.unavailable, choosersOpened: fake.serial.requests - before };
    await card.close();
  }
} catch (e) {
  results.fatal = String((e && e.code) || '') + ' ' + String((e && e.stack) || e);
}
window.__results = results;
