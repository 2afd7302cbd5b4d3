// Web Serial: a GemPC Twin-framed serial CCID reader (115200 baud, 8N2, as libccid's serial
// driver sets it) or a PN532 contactless bridge (115200 8N1). `webSerial.reader`: 'gempc-twin',
// 'pn532' or 'auto' (default: tries the GemPC Twin, then the PN532).

function serialMissing() {
  return 'Web Serial is not available in this browser (navigator.serial is missing): Chrome and Edge 89+ on desktop and Firefox 151+ have it, in a secure context (https or localhost); Safari does not';
}

// A byte link over an open SerialPort. One reader lock for the session; a read that lost a
// time-out race stays pending and is used by the next read().
function serialLink(port) {
  const reader = port.readable.getReader();
  const writer = port.writable.getWriter();
  return {
    bytesIn: 0,
    bytesOut: 0,
    async write(bytes) { await writer.write(bytes); },
    read: keptReads(async () => {
      for (;;) {
        const r = await reader.read();
        if (r.done) throw new HoviatError('TRANSPORT_ERROR', 'the serial port closed (the reader was unplugged?)');
        if (r.value && r.value.length) return r.value;
      }
    }),
    async close() {
      try { await reader.cancel(); } catch (_) { /* closed */ }
      try { reader.releaseLock(); } catch (_) { /* released */ }
      try { writer.releaseLock(); } catch (_) { /* released */ }
      try { await port.close(); } catch (_) { /* closed */ }
    },
  };
}

async function openWebSerial(mod, opts) {
  const o = opts.webSerial === undefined ? {} : opts.webSerial;
  needObject(o, 'webSerial options');
  const kind = o.reader === undefined ? 'auto' : o.reader;
  if (!['auto', 'gempc-twin', 'pn532'].includes(kind)) {
    throw new HoviatError('INVALID_ARGUMENT', 'webSerial.reader must be auto, gempc-twin or pn532');
  }
  const nav = typeof navigator === 'object' ? navigator : undefined;
  if (!nav || !nav.serial) throw unavailable(serialMissing());
  let port = o.port;
  if (port === undefined) {
    try {
      port = await nav.serial.requestPort({ filters: o.filters || [] });
    } catch (e) {
      if (e && e.name === 'NotFoundError') throw cancelled('no serial port was chosen (the chooser was cancelled)');
      if (e && e.name === 'SecurityError') {
        throw unavailable('the browser refused the serial port chooser: call connect from a click, in a page the permissions policy allows "serial" (' + e.message + ')');
      }
      throw new HoviatError('TRANSPORT_ERROR', 'serial port chooser: ' + String((e && e.message) || e));
    }
  }
  const slot = fullSlot;
  const kinds = kind === 'auto' ? ['gempc-twin', 'pn532'] : [kind];
  const errors = [];
  for (const k of kinds) {
    checkAbort(opts.signal);
    try {
      await port.open({ baudRate: o.baudRate || 115200, dataBits: 8, stopBits: k === 'gempc-twin' ? 2 : 1, parity: 'none', bufferSize: 4096 });
    } catch (e) {
      throw new HoviatError('TRANSPORT_ERROR', 'the serial port could not be opened (in use by another program?): ' + String((e && e.message) || e));
    }
    const link = serialLink(port);
    let session;
    try { session = new mod.ReaderSession(k); } catch (e) { await link.close(); throw directError(e, slot); }
    const close = async () => { try { session.free(); } catch (_) { /* freed */ } await link.close(); };
    const probing = kinds.length > 1;
    try {
      return await sessionConn(session, link, { kind: k }, probing ? { timeoutMs: o.probeTimeoutMs || 1500, signal: opts.signal } : opts, slot, close);
    } catch (e) {
      // Presence and cancellation are answers, not a wrong guess of the reader kind.
      if (!probing || ['USER_CANCELLED', 'NO_CARD', 'CARD_REMOVED'].includes(e.code)) throw e;
      errors.push(k + ': ' + e.code + ' ' + e.message);
    }
  }
  throw new HoviatError('READER_UNSUPPORTED', 'the serial device answered neither as a GemPC Twin reader nor as a PN532 (' + errors.join('; ') + ')');
}
