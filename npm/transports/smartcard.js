// The Web Smart Card API (navigator.smartCard: ChromeOS, Isolated Web Apps with the
// "smart-card" permission policy). The platform's PC/SC moves whole APDUs; the card dialogue
// still runs in the wasm CardJob. `smartCard.reader`: a reader name (default: the first reader
// holding a card).

function smartCardMissing() {
  return 'the Web Smart Card API is not available here (navigator.smartCard is missing): it exists only in Isolated Web Apps on ChromeOS with the "smart-card" permission policy';
}

const SMARTCARD_CODES = {
  'no-smartcard': 'NO_CARD',
  'removed-card': 'CARD_REMOVED',
  'reset-card': 'CARD_REMOVED',
  'no-readers-available': 'NO_READER',
  'unknown-reader': 'READER_NOT_FOUND',
  'reader-unavailable': 'NO_READER',
  'no-service': 'READER_SERVICE_UNAVAILABLE',
  'timeout': 'CARD_TIMEOUT',
  'sharing-violation': 'READER_BUSY',
  'unresponsive-card': 'CARD_TIMEOUT',
  'unpowered-card': 'NO_CARD',
};

function smartCardError(e) {
  if (e instanceof HoviatError) return e;
  if (e && e.name === 'AbortError') return cancelled('the card operation was cancelled');
  if (e && e.name === 'NotAllowedError') return unavailable('the Web Smart Card API refused this page (permission policy "smart-card", or the user denied it): ' + e.message);
  const code = e && SMARTCARD_CODES[e.responseCode];
  if (code) return new HoviatError(code, 'smart card: ' + e.responseCode);
  return new HoviatError('TRANSPORT_ERROR', 'smart card: ' + String((e && (e.responseCode || e.message)) || e));
}

async function openSmartCard(mod, opts) {
  const o = opts.smartCard === undefined ? {} : opts.smartCard;
  needObject(o, 'smartCard options');
  const nav = typeof navigator === 'object' ? navigator : undefined;
  if (!nav || !nav.smartCard) throw unavailable(smartCardMissing());
  let ctx;
  let conn;
  try {
    ctx = await nav.smartCard.establishContext();
    const readers = await ctx.listReaders();
    if (!readers.length) throw new HoviatError('NO_READER', 'no card reader is connected');
    let name = o.reader;
    if (name === undefined) {
      const states = await ctx.getStatusChange(readers.map((r) => ({ readerName: r, currentState: {} })), { timeout: 0 }).catch(() => []);
      const withCard = states.find((s) => s.eventState && s.eventState.present);
      name = withCard ? withCard.readerName : readers[0];
    } else if (!readers.includes(name)) {
      throw new HoviatError('READER_NOT_FOUND', 'no reader named ' + JSON.stringify(name));
    }
    const r = await ctx.connect(name, 'shared', { preferredProtocols: ['t1', 't0'] });
    conn = r.connection;
    const st = await conn.status();
    const atr = new Uint8Array(st.answerToReset || []);
    const link = { bytesIn: 0, bytesOut: 0 };
    return {
      atr,
      link,
      reader: { kind: 'smartcard', name, protocol: r.activeProtocol },
      async transmit(apdu, t) {
        checkAbort(t && t.signal);
        link.bytesOut += apdu.length;
        let resp;
        try { resp = await conn.transmit(apdu); } catch (e) { throw smartCardError(e); }
        const u = new Uint8Array(resp);
        link.bytesIn += u.length;
        return u;
      },
      async close() {
        try { await conn.disconnect('leave'); } catch (_) { /* gone */ }
      },
    };
  } catch (e) {
    if (conn) { try { await conn.disconnect('leave'); } catch (_) { /* gone */ } }
    throw smartCardError(e);
  }
}
