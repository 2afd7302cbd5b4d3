// WebUSB: a CCID reader on USB bulk endpoints (TPDU level: the host runs T=1 in the wasm
// session; short/extended APDU level: the APDU goes as it is). Ordinary pages cannot claim the smart-card interface class 0x0B: Chrome refuses it
// with a SecurityError, which becomes WEBUSB_PROTECTED_CLASS naming what works instead.

function usbMissing() {
  return 'WebUSB is not available in this browser (navigator.usb is missing): Firefox and Safari have none; use the hoviat extension (every desktop browser), or a Chromium-based browser for a kiosk';
}

const PROTECTED_CLASS_HELP = 'the browser does not let ordinary web pages claim a smart-card (CCID, USB class 0x0B) interface. ' +
  'What works instead: the hoviat browser extension with its card-reader program (any desktop browser); ' +
  'a kiosk app: Electron (session.setUSBProtectedClassesHandler) or an Isolated Web App with the "usb-unrestricted" permission; ' +
  'or a reader that exposes a vendor-specific interface (class 0xFF)';

const isSecurityError = (e) => e && (e.name === 'SecurityError' || /protected/i.test(String(e.message)));

function usbLink(device, ui) {
  const max = Math.max(ui.maxMessage || 271, 64);
  return {
    bytesIn: 0,
    bytesOut: 0,
    async write(bytes) {
      const r = await device.transferOut(ui.bulkOut, bytes);
      if (r && r.status && r.status !== 'ok') throw new HoviatError('TRANSPORT_ERROR', 'USB bulk-OUT transfer: ' + r.status);
    },
    read: keptReads(async () => {
      for (;;) {
        const r = await device.transferIn(ui.bulkIn, max);
        if (r.status === 'stall') {
          try { await device.clearHalt('in', ui.bulkIn); } catch (_) { /* gone */ }
          throw new HoviatError('TRANSPORT_ERROR', 'the USB reader stalled its bulk-IN endpoint');
        }
        if (r.status && r.status !== 'ok') throw new HoviatError('TRANSPORT_ERROR', 'USB bulk-IN transfer: ' + r.status);
        const d = r.data;
        if (d && d.byteLength) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
      }
    }),
    // A class request to the reader's interface (the CCID ABORT request).
    async control(c) {
      const r = await device.controlTransferOut({ requestType: 'class', recipient: 'interface', request: c.request, value: c.value, index: c.index });
      if (r && r.status && r.status !== 'ok') throw new HoviatError('TRANSPORT_ERROR', 'USB control transfer (ABORT): ' + r.status);
    },
    async close() {
      try { await device.releaseInterface(ui.interface); } catch (_) { /* released */ }
      try { await device.close(); } catch (_) { /* closed */ }
    },
  };
}

async function openWebUsb(mod, opts) {
  const o = opts.webUsb === undefined ? {} : opts.webUsb;
  needObject(o, 'webUsb options');
  const nav = typeof navigator === 'object' ? navigator : undefined;
  if (!nav || !nav.usb) throw unavailable(usbMissing());
  const slot = fullSlot;
  let device = o.device;
  if (device === undefined) {
    try {
      device = await nav.usb.requestDevice({ filters: o.filters || [{ classCode: 0x0B }, { classCode: 0xFF }] });
    } catch (e) {
      if (e && e.name === 'NotFoundError') throw cancelled('no USB device was chosen (the chooser was cancelled)');
      if (isSecurityError(e)) throw unavailable('the browser refused the USB chooser: call connect from a click, in a page the permissions policy allows "usb" (' + e.message + ')');
      throw new HoviatError('TRANSPORT_ERROR', 'USB chooser: ' + String((e && e.message) || e));
    }
  }
  let session;
  let ui;
  try {
    await device.open();
    if (device.configuration === null) await device.selectConfiguration(1);
    // The configuration descriptor with its class descriptors (WebUSB exposes only the
    // standard ones): GET_DESCRIPTOR(CONFIGURATION), header first, then the whole of it.
    const setup = { requestType: 'standard', recipient: 'device', request: 0x06, value: 0x0200, index: 0 };
    const head = await device.controlTransferIn(setup, 9);
    if (!head.data || head.data.byteLength < 4) throw new HoviatError('READER_PROTOCOL_ERROR', 'the USB device sent no configuration descriptor');
    const total = head.data.getUint16(2, true);
    const full = await device.controlTransferIn(setup, total);
    const config = new Uint8Array(full.data.buffer, full.data.byteOffset, full.data.byteLength);
    try { session = mod.ReaderSession.usb(config); } catch (e) { throw directError(e, slot); }
    ui = session.usbInterface;
    await device.claimInterface(ui.interface);
  } catch (e) {
    if (session) { try { session.free(); } catch (_) { /* freed */ } }
    try { await device.close(); } catch (_) { /* closed */ }
    if (isSecurityError(e)) throw new HoviatError('WEBUSB_PROTECTED_CLASS', PROTECTED_CLASS_HELP + ' (' + String(e.message) + ')');
    if (e instanceof HoviatError) throw e;
    throw new HoviatError('TRANSPORT_ERROR', 'the USB reader could not be opened (held by the system reader service, pcscd?): ' + String((e && e.message) || e));
  }
  const link = usbLink(device, ui);
  const close = async () => { try { session.free(); } catch (_) { /* freed */ } await link.close(); };
  const reader = { kind: 'usb-ccid', vendorId: device.vendorId, productId: device.productId, name: device.productName, interfaceClass: ui.class };
  return sessionConn(session, link, reader, opts, slot, close);
}
