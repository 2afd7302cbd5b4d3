// Direct card transports (issue 18): Web Serial (GemPC Twin serial CCID readers, PN532
// contactless bridges), WebUSB (CCID readers where the browser allows it) and the Web Smart
// Card API. scripts/build-pkg puts these files after npm/api.js, whose names they use
// (HoviatError, Card, Slot, main, fullSlot, needObject, toError, pageOrigin).
//
// The protocols run in Rust (the full wasm module's ReaderSession and CardJob: hoviat::reader
// and hoviat::card); the adapters here only move bytes between the device and those sessions,
// apply time-outs and cancellation, and turn the browser's exceptions into stable codes.

const DIRECT_TIMEOUT_MS = 5000;

const unavailable = (msg) => new HoviatError('TRANSPORT_UNAVAILABLE', msg);
const cancelled = (what) => new HoviatError('USER_CANCELLED', what);

function directError(e, slot) {
  if (e instanceof HoviatError) return e;
  if (e && e.name === 'AbortError') return cancelled('the card operation was cancelled');
  return toError(e, slot);
}

function checkAbort(signal) {
  if (signal && signal.aborted) throw cancelled('the card operation was cancelled');
}

// The full module (ReaderSession, CardJob): web/core.wasm in a browser, the main one in Node.
async function directModule() {
  return (await fullModuleSlot()).ready();
}

// Races `p` against a timer and the abort signal. A losing `p` is not cancelled: byte links
// keep their pending read for the next call (`p.abandon()`, see keptReads).
function withTimeout(p, ms, signal, what) {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (f, v) => { if (!done) { done = true; clearTimeout(timer); if (signal) signal.removeEventListener('abort', onAbort); f(v); } };
    const lose = (e) => { if (!done && typeof p.abandon === 'function') p.abandon(); finish(reject, e); };
    const timer = setTimeout(() => lose(new HoviatError('CARD_TIMEOUT', what + ' did not answer within ' + ms + ' ms')), ms);
    const onAbort = () => lose(cancelled('the card operation was cancelled'));
    if (signal) signal.addEventListener('abort', onAbort);
    p.then((v) => finish(resolve, v), (e) => finish(reject, e));
  });
}

// read() for a byte link whose reads cannot be cancelled (`next()` brings the next non-empty
// chunk): a read that lost a time-out race is abandoned, and the chunk it brings, even when it
// arrives before anyone reads again, goes to the next read() instead of being lost. The bytes a
// reader sends after an abandoned exchange must reach the resynchronisation.
function keptReads(next) {
  let pending = null;
  return () => {
    if (pending === null) pending = next();
    const p = pending;
    let live = true;
    const r = p.then((v) => { if (live && pending === p) pending = null; return v; },
      (e) => { if (pending === p) pending = null; throw e; });
    r.abandon = () => { live = false; };
    return r;
  };
}

// Runs one reader-session exchange: writes `first`, then feeds every read to the session until
// it is done (the ATR or a response APDU), writing what it asks for on the way.
async function sessionExchange(session, link, first, opts, slot) {
  let out = first;
  for (;;) {
    checkAbort(opts.signal);
    link.bytesOut += out.length;
    await link.write(out);
    out = null;
    while (out === null) {
      const chunk = await withTimeout(link.read(), opts.timeoutMs || DIRECT_TIMEOUT_MS, opts.signal, 'the card reader');
      link.bytesIn += chunk.length;
      let s;
      try { s = session.feed(chunk); } catch (e) { throw directError(e, slot); }
      if (s.done) return s.done;
      if (s.send) out = s.send;
    }
  }
}

// After an exchange was abandoned half-way (cancelled, timed out): resynchronise with the reader
// on the same connection (CCID: the USB ABORT class request and PC_to_RDR_Abort, stale answers
// skipped by bSeq, T=1 S(RESYNCH); PN532: an ACK frame, then a command that proves the chip
// listens). The read that lost the race is still pending: what it brings is fed to the session,
// which discards it. Bounded by its own time-out; no signal (the user already cancelled).
async function sessionResync(session, link, opts, slot) {
  let a;
  try { a = session.abort(); } catch (e) { throw directError(e, slot); }
  if (a.control) {
    if (typeof link.control !== 'function') throw new HoviatError('TRANSPORT_ERROR', 'this link cannot send the reader a control request');
    await withTimeout(link.control(a.control), opts.timeoutMs || DIRECT_TIMEOUT_MS, undefined, 'the USB reader (ABORT request)');
  }
  await sessionExchange(session, link, a.send, { timeoutMs: opts.timeoutMs || DIRECT_TIMEOUT_MS }, slot);
}

// A Card over a byte link and a reader session: `link` = { write(bytes), read() -> bytes,
// close(), bytesIn, bytesOut }; `session` a ReaderSession (or null with `apdu` for the Web
// Smart Card API, where the browser moves APDUs itself).
async function directCard(name, opts, open) {
  const mod = await directModule();
  const slot = fullSlot;
  const conn = await open(mod);
  const progress = typeof opts.onProgress === 'function' ? opts.onProgress : () => {};
  let apdus = 0;
  const transmit = async (apdu, signal) => {
    const o = { timeoutMs: opts.timeoutMs, signal };
    const r = await conn.transmit(apdu, o);
    apdus++;
    progress({ transport: name, stage: 'apdu', apdus, bytesOut: conn.link ? conn.link.bytesOut : 0, bytesIn: conn.link ? conn.link.bytesIn : 0 });
    return r;
  };
  let busy = false;
  const run = async (op, args, onStatus, signal) => {
    if (busy) throw new HoviatError('HOST_BUSY', 'one card operation at a time');
    busy = true;
    let job;
    try {
      try { job = new mod.CardJob(conn.atr, op, args, onStatus); } catch (e) { throw directError(e, slot); }
      let resp;
      for (;;) {
        checkAbort(signal);
        let s;
        try { s = job.step(resp); } catch (e) { throw directError(e, slot); }
        if (s.done) return s.result;
        resp = await transmit(s.apdu, signal);
      }
    } finally {
      busy = false;
      if (job) { try { job.free(); } catch (_) { /* gone after a trap */ } }
    }
  };
  const sig = (o) => (o && o.signal) || opts.signal;
  const impl = {
    info(onStatus) { return run('info', {}, onStatus, opts.signal); },
    async authenticate(args, onStatus) {
      const origin = args.origin !== undefined ? args.origin : pageOrigin();
      if (origin === undefined) throw new HoviatError('INVALID_ARGUMENT', 'origin is required outside a browser page');
      const r = await run('authenticate', { origin, nonce: args.nonce, pin: args.pin }, onStatus, sig(args));
      return { token: r.token, origin: r.origin, traffic: r.traffic };
    },
  };
  const card = new Card(name, impl, opts.onStatus);
  card.reader = conn.reader;
  card.atr = Array.from(conn.atr, (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
  card.verifyPin = (args) => {
    needObject(args, 'verifyPin options');
    return run('verifyPin', { kind: args.kind, pin: args.pin }, card._onStatus, sig(args));
  };
  card.traffic = () => ({ apdus, bytesOut: conn.link ? conn.link.bytesOut : 0, bytesIn: conn.link ? conn.link.bytesIn : 0 });
  card.close = () => conn.close();
  progress({ transport: name, stage: 'card-ready', apdus: 0, bytesOut: conn.link ? conn.link.bytesOut : 0, bytesIn: conn.link ? conn.link.bytesIn : 0 });
  return card;
}

// A reader session on a byte link: powers the card (ATR) and transmits APDUs.
async function sessionConn(session, link, reader, opts, slot, close) {
  let atr;
  try {
    let first;
    try { first = session.start(); } catch (e) { throw directError(e, slot); }
    atr = await sessionExchange(session, link, first, opts, slot);
  } catch (e) {
    await close();
    throw e;
  }
  let broken = null;
  return {
    atr,
    link,
    reader: Object.assign({}, reader, session.target ? { target: session.target } : {}),
    async transmit(apdu, o) {
      // Cancelled between APDUs: the reader session stays usable. Cancelled or timed out
      // half-way: the reader is resynchronised (sessionResync) before the error is reported,
      // and the next transmit works on the same connection. Only a resynchronisation that
      // fails, or another failure half-way (card removed, protocol broken), gives the
      // connection up: every later transmit then says to connect again.
      checkAbort(o && o.signal);
      if (broken) throw broken;
      let first;
      try { first = session.transmit(apdu); } catch (e) { throw directError(e, slot); }
      try {
        return await sessionExchange(session, link, first, o, slot);
      } catch (e) {
        if (e.code === 'USER_CANCELLED' || e.code === 'CARD_TIMEOUT') {
          try {
            await sessionResync(session, link, o || {}, slot);
            throw e;
          } catch (r) {
            if (r === e) throw e;
            broken = new HoviatError(r.code === 'CARD_REMOVED' ? 'CARD_REMOVED' : 'TRANSPORT_ERROR',
              'the reader did not recover from an interrupted exchange (' + e.code + ', then ' + r.code + ' while resynchronising: ' + r.message + '): connect again',
              { resync: r.code });
            e.message += '; the reader did not recover (' + r.code + '): connect again';
            throw e;
          }
        }
        broken = new HoviatError(e.code === 'CARD_REMOVED' ? 'CARD_REMOVED' : 'TRANSPORT_ERROR',
          'an earlier exchange with the reader did not complete (' + e.code + '): connect again');
        throw e;
      }
    },
    close,
  };
}

// What `auto` finds: for each direct transport, null (usable without a chooser) or why not;
// the serial ports and USB devices this site was already granted.
async function directAvailability() {
  const nav = typeof navigator === 'object' ? navigator : undefined;
  const why = {};
  let ports = [];
  let devices = [];
  why.smartcard = nav && nav.smartCard ? null : smartCardMissing();
  if (!nav || !nav.serial) why.webserial = serialMissing();
  else {
    try { ports = await nav.serial.getPorts(); } catch (_) { /* permissions policy */ }
    why.webserial = ports.length ? null : 'no serial port has been granted to this site yet: connect({ transport: "webserial" }) from a click opens the port chooser';
  }
  if (!nav || !nav.usb) why.webusb = usbMissing();
  else {
    try { devices = await nav.usb.getDevices(); } catch (_) { /* permissions policy */ }
    why.webusb = devices.length ? null : 'no USB reader has been granted to this site yet (and ordinary pages cannot claim CCID readers): connect({ transport: "webusb" }) from a click opens the chooser';
  }
  return { why, ports, devices };
}

// auto: the Web Smart Card API where it exists (Isolated Web Apps), else the extension, else a
// serial port or USB reader already granted to this site (no chooser pops up by itself).
// NO_TRANSPORT with `reasons` when none works.
async function connectAuto(opts, extension) {
  const { why, ports, devices } = await directAvailability();
  const reasons = {};
  for (const [k, v] of Object.entries(why)) if (v !== null) reasons[k] = v;
  const note = (k, e) => { reasons[k] = (e.code || 'ERROR') + ': ' + e.message; };
  const withReasons = (card) => { card.unavailable = Object.assign({}, reasons); return card; };
  if (why.smartcard === null) {
    try { return withReasons(await connectDirect('smartcard', opts)); } catch (e) { if (e.code === 'USER_CANCELLED') throw e; note('smartcard', e); }
  }
  try {
    return withReasons(new Card('extension', await extension(), opts.onStatus));
  } catch (e) {
    note('extension', e);
  }
  if (why.webserial === null) {
    const o = Object.assign({}, opts, { webSerial: Object.assign({}, opts.webSerial, { port: ports[0] }) });
    try { return withReasons(await connectDirect('webserial', o)); } catch (e) { if (e.code === 'USER_CANCELLED') throw e; note('webserial', e); }
  }
  if (why.webusb === null) {
    const o = Object.assign({}, opts, { webUsb: Object.assign({}, opts.webUsb, { device: devices[0] }) });
    try { return withReasons(await connectDirect('webusb', o)); } catch (e) { if (e.code === 'USER_CANCELLED') throw e; note('webusb', e); }
  }
  throw new HoviatError('NO_TRANSPORT', 'no card transport is available: ' +
    Object.entries(reasons).map(([k, v]) => k + ' — ' + v).join('; '), { reasons });
}

/** connect() for 'webserial', 'webusb' and 'smartcard'. */
async function connectDirect(transport, opts) {
  if (opts.signal !== undefined && (opts.signal === null || typeof opts.signal.aborted !== 'boolean')) {
    throw new HoviatError('INVALID_ARGUMENT', 'signal must be an AbortSignal');
  }
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') {
    throw new HoviatError('INVALID_ARGUMENT', 'onProgress must be a function');
  }
  checkAbort(opts.signal);
  if (transport === 'webserial') return directCard('webserial', opts, (mod) => openWebSerial(mod, opts));
  if (transport === 'webusb') return directCard('webusb', opts, (mod) => openWebUsb(mod, opts));
  return directCard('smartcard', opts, (mod) => openSmartCard(mod, opts));
}
