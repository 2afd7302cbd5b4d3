// hoviat service worker (Chromium) / background script (Firefox): owns the native port to
// hoviat-host, takes the calling origin from the browser (port.sender), never from the page,
// and asks the PIN in the extension's own window (pin.html), never in the page.
'use strict';

const HOST = 'ir.hoviat.host';
const PROTOCOL = 1;
const VERSION = chrome.runtime.getManifest().version;
const ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const NONCE_RE = /^[A-Za-z0-9+/=_-]{44,128}$/;
const HOST_CALL_TIMEOUT_MS = 180000;
const VERSION_TIMEOUT_MS = 10000;
const PIN_TIMEOUT_MS = 180000;

class CodedError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}
const coded = (code, message) => new CodedError(code, message);

// ---- The native host ---------------------------------------------------------------------

let native = null; // { port, pending: Map, hostVersion }
let seq = 0;

function openHost() {
  let port;
  try {
    port = chrome.runtime.connectNative(HOST);
  } catch (e) {
    throw coded('EXTENSION_HOST_MISSING', `cannot start the hoviat host: ${e.message}`);
  }
  const n = { port, pending: new Map(), hostVersion: null, heard: false };
  port.onMessage.addListener((msg) => {
    n.heard = true;
    if (!msg || typeof msg !== 'object' || typeof msg.id !== 'string') return;
    const p = n.pending.get(msg.id);
    if (!p) return;
    if (typeof msg.status === 'string' && !('ok' in msg)) {
      p.onStatus(msg.status);
      return;
    }
    n.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.ok === true) p.resolve(msg.result);
    else {
      const e = msg.error && typeof msg.error === 'object' ? msg.error : {};
      p.reject(coded(String(e.code || 'HOST_BAD_MESSAGE'), String(e.message || 'the host failed')));
    }
  });
  port.onDisconnect.addListener(() => {
    const why = (chrome.runtime.lastError && chrome.runtime.lastError.message) || (port.error && port.error.message) || '';
    if (native === n) native = null;
    const missing = /not found|no such native application|forbidden/i.test(why);
    const err = missing
      ? coded('EXTENSION_HOST_MISSING', `the hoviat host is not installed for this browser (${why}); run "hoviat-host install"`)
      : coded('EXTENSION_HOST_DISCONNECTED', `the hoviat host stopped${why ? ` (${why})` : ''}; try again`);
    for (const p of n.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    n.pending.clear();
  });
  return n;
}

function call(n, cmd, fields, onStatus, timeoutMs) {
  const id = `x${++seq}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      n.pending.delete(id);
      try {
        n.port.postMessage({ v: PROTOCOL, id: `x${++seq}`, cmd: 'cancel' });
      } catch (e) { /* gone */ }
      reject(coded('EXTENSION_HOST_TIMEOUT', `the host did not answer ${cmd} in time`));
    }, timeoutMs);
    n.pending.set(id, { resolve, reject, timer, onStatus: onStatus || (() => {}) });
    try {
      n.port.postMessage({ v: PROTOCOL, id, cmd, ...fields });
    } catch (e) {
      n.pending.delete(id);
      clearTimeout(timer);
      reject(coded('EXTENSION_HOST_DISCONNECTED', `the hoviat host is not reachable: ${e.message}`));
    }
  });
}

// Connects (or reconnects after the host died) and checks the protocol version once.
async function host() {
  if (native && native.hostVersion) return native;
  if (!native) native = openHost();
  const n = native;
  let v;
  try {
    v = await call(n, 'version', {}, null, VERSION_TIMEOUT_MS);
  } catch (e) {
    if (native === n) {
      native = null;
      try { n.port.disconnect(); } catch (_) { /* already closed */ }
    }
    if (e.code === 'PROTOCOL_VERSION_MISMATCH') {
      throw coded('EXTENSION_HOST_VERSION_MISMATCH', `the installed hoviat host does not speak protocol ${PROTOCOL}: ${e.message}`);
    }
    throw e;
  }
  if (!v || v.protocol !== PROTOCOL) {
    if (native === n) native = null;
    try { n.port.disconnect(); } catch (_) { /* already closed */ }
    throw coded('EXTENSION_HOST_VERSION_MISMATCH',
      `the installed hoviat host speaks protocol ${v && v.protocol}, this extension ${PROTOCOL}: update both`);
  }
  n.hostVersion = v;
  return n;
}

// ---- The PIN window ----------------------------------------------------------------------

const pinPrompts = new Map(); // key -> prompt

function randomKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// A PIN prompt in an extension window. ask() resolves with the PIN; close() ends it.
function pinPrompt(origin) {
  const key = randomKey();
  const pr = { key, origin, port: null, windowId: null, waiter: null, pending: null, closed: false };
  pinPrompts.set(key, pr);
  const settle = (fn, v) => {
    const w = pr.waiter;
    pr.waiter = null;
    if (w) {
      clearTimeout(w.timer);
      w[fn](v);
    }
  };
  pr.cancel = (code, message) => {
    if (pr.closed) return;
    pr.closed = true;
    pinPrompts.delete(key);
    settle('reject', coded(code, message));
    if (pr.windowId !== null) chrome.windows.remove(pr.windowId).catch(() => {});
  };
  pr.close = () => {
    if (pr.closed) return;
    pr.closed = true;
    pinPrompts.delete(key);
    try { if (pr.port) pr.port.postMessage({ done: true }); } catch (_) { /* closed */ }
    if (pr.windowId !== null) chrome.windows.remove(pr.windowId).catch(() => {});
  };
  pr.ask = (state) => {
    if (pr.closed) return Promise.reject(coded('USER_CANCELLED', 'the PIN window was closed'));
    pr.pending = state;
    const p = new Promise((resolve, reject) => {
      const timer = setTimeout(() => pr.cancel('EXTENSION_PIN_TIMEOUT', 'no PIN was entered in time'), PIN_TIMEOUT_MS);
      pr.waiter = { resolve, reject, timer };
    });
    if (pr.port) pr.port.postMessage({ origin, ...state });
    return p;
  };
  pr.onPin = (pin) => settle('resolve', pin);
  return pr;
}

async function openPinWindow(pr) {
  const url = chrome.runtime.getURL(`pin.html#${pr.key}`);
  try {
    const w = await chrome.windows.create({ url, type: 'popup', width: 440, height: 420, focused: true });
    pr.windowId = w.id;
    if (pr.closed) chrome.windows.remove(w.id).catch(() => {});
  } catch (e) {
    pr.cancel('EXTENSION_PIN_WINDOW_FAILED', `cannot open the PIN window: ${e.message}`);
  }
}

chrome.windows.onRemoved.addListener((windowId) => {
  for (const pr of pinPrompts.values()) {
    if (pr.windowId === windowId) pr.cancel('USER_CANCELLED', 'the PIN window was closed');
  }
});

function onPinPort(port) {
  const pinUrl = chrome.runtime.getURL('pin.html');
  const s = port.sender || {};
  if (s.id !== chrome.runtime.id || typeof s.url !== 'string' || !s.url.startsWith(pinUrl)) {
    port.disconnect();
    return;
  }
  let pr = null;
  port.onMessage.addListener((m) => {
    if (!m || typeof m !== 'object') return;
    if (!pr && typeof m.hello === 'string') {
      pr = pinPrompts.get(m.hello) || null;
      if (!pr || pr.port) {
        port.postMessage({ done: true, error: 'This PIN request has ended.' });
        pr = null;
        return;
      }
      pr.port = port;
      if (pr.pending) port.postMessage({ origin: pr.origin, ...pr.pending });
      return;
    }
    if (!pr) return;
    if (m.cancel === true) pr.cancel('USER_CANCELLED', 'the user cancelled the PIN entry');
    else if (typeof m.pin === 'string' && /^[0-9]{4,16}$/.test(m.pin)) pr.onPin(m.pin);
  });
  port.onDisconnect.addListener(() => {
    if (pr) pr.cancel('USER_CANCELLED', 'the PIN window was closed');
  });
}

// ---- Requests from pages -------------------------------------------------------------------

let busy = null; // the page request holding the card, one at a time

// A card that signs asks its holder for the PIN at every authentication, even when it reports
// the PIN as already verified: pcscd keeps a card powered (and unlocked) for a moment after its
// last client, and another page must not get a token in that moment without the holder.
function pinNeeded(info) {
  if (!info || info.assurance !== 'holder-signature') return { need: false };
  const pins = Array.isArray(info.pins) ? info.pins : [];
  if (pins.some((x) => x && x.state === 'blocked')) {
    throw coded('PIN_BLOCKED', 'the PIN is blocked; only the card issuer can unblock it');
  }
  const p = pins.find((x) => x && typeof x.triesLeft === 'number');
  return { need: true, triesLeft: p ? p.triesLeft : null };
}

async function authenticate(op, origin, params, status) {
  const reader = params.reader ? { reader: params.reader } : {};
  let n = await host();
  op.host = n;
  const info = await call(n, 'info', reader, (s) => s !== 'done' && status(s), HOST_CALL_TIMEOUT_MS);
  op.check();
  let { need, triesLeft } = pinNeeded(info);
  let error = null;
  try {
    for (;;) {
      let pin;
      if (need) {
        status('waiting-for-pin');
        if (!op.prompt) {
          op.prompt = pinPrompt(origin);
          openPinWindow(op.prompt);
        }
        pin = await op.prompt.ask({ triesLeft, error });
        op.check();
      }
      try {
        n = await host(); // reconnects if the host died while the PIN was asked
        op.host = n;
        const fields = { origin, nonce: params.nonce, ...reader };
        if (pin) fields.pin = pin;
        pin = null;
        const result = await call(n, 'authenticate', fields, status, HOST_CALL_TIMEOUT_MS);
        return { token: result.token };
      } catch (e) {
        if (e.code === 'PIN_WRONG' && op.prompt) {
          const m = /(\d+) tries left/.exec(e.message);
          triesLeft = m ? Number(m[1]) : null;
          error = e.message;
          continue;
        }
        if (e.code === 'PIN_REQUIRED' && !need) {
          need = true;
          continue;
        }
        throw e;
      }
    }
  } finally {
    if (op.prompt) op.prompt.close();
  }
}

async function runAction(op, origin, msg, status) {
  switch (msg.action) {
    case 'version': {
      const n = await host();
      return { extension: VERSION, protocol: PROTOCOL, host: n.hostVersion };
    }
    case 'info': {
      const n = await host();
      op.host = n;
      const r = msg.params.reader ? { reader: msg.params.reader } : {};
      return call(n, 'info', r, status, HOST_CALL_TIMEOUT_MS);
    }
    case 'authenticate':
      return authenticate(op, origin, msg.params, status);
    default:
      throw coded('EXTENSION_BAD_REQUEST', 'unknown action');
  }
}

function validPageMessage(m) {
  if (!m || typeof m !== 'object' || typeof m.id !== 'string' || !ID_RE.test(m.id)) return false;
  if (!['version', 'info', 'authenticate', 'cancel'].includes(m.action)) return false;
  const p = m.params;
  if (!p || typeof p !== 'object') return false;
  if (p.reader !== undefined && (typeof p.reader !== 'string' || p.reader.length < 1 || p.reader.length > 256)) return false;
  if (m.action === 'authenticate' && !(typeof p.nonce === 'string' && NONCE_RE.test(p.nonce))) return false;
  return true;
}

function onPagePort(port) {
  const s = port.sender || {};
  // The origin comes from the browser; a page cannot choose it.
  let origin = typeof s.origin === 'string' ? s.origin : null;
  if (!origin && typeof s.url === 'string') {
    try { origin = new URL(s.url).origin; } catch (_) { origin = null; }
  }
  if (s.id !== chrome.runtime.id || !s.tab || !origin || origin === 'null') {
    port.disconnect();
    return;
  }
  const ops = new Map(); // page id -> op
  let open = true;
  const send = (m) => {
    if (!open) return;
    try { port.postMessage(m); } catch (_) { open = false; }
  };
  port.onDisconnect.addListener(() => {
    open = false;
    for (const op of ops.values()) op.abort('EXTENSION_CANCELLED', 'the page went away');
  });
  port.onMessage.addListener(async (msg) => {
    if (!validPageMessage(msg)) {
      if (msg && typeof msg.id === 'string' && ID_RE.test(msg.id)) {
        send({ id: msg.id, ok: false, error: { code: 'EXTENSION_BAD_REQUEST', message: 'invalid request' } });
      }
      return;
    }
    if (msg.action === 'cancel') {
      const cancelled = [];
      for (const [id, op] of ops) {
        op.abort('EXTENSION_CANCELLED', 'cancelled by the page');
        cancelled.push(id);
      }
      send({ id: msg.id, ok: true, result: { cancelled } });
      return;
    }
    const usesCard = msg.action !== 'version';
    if (usesCard && busy) {
      send({ id: msg.id, ok: false, error: { code: 'EXTENSION_BUSY', message: 'another card operation is in progress' } });
      return;
    }
    let lastStatus = null;
    const op = {
      aborted: null,
      prompt: null,
      host: null,
      check() {
        if (this.aborted) throw this.aborted;
      },
      abort(code, message) {
        if (this.aborted) return;
        this.aborted = coded(code, message);
        if (this.prompt) this.prompt.cancel(code, message);
        if (this.host) {
          try { this.host.port.postMessage({ v: PROTOCOL, id: `x${++seq}`, cmd: 'cancel' }); } catch (_) { /* gone */ }
        }
      },
    };
    ops.set(msg.id, op);
    if (usesCard) busy = op;
    const status = (st) => {
      if (st !== lastStatus && !op.aborted) {
        lastStatus = st;
        send({ id: msg.id, status: st });
      }
    };
    try {
      const result = await runAction(op, origin, msg, status);
      op.check();
      send({ id: msg.id, ok: true, result });
    } catch (e) {
      const err = op.aborted && e.code !== op.aborted.code ? op.aborted : e;
      send({ id: msg.id, ok: false, error: { code: String(err.code || 'EXTENSION_ERROR'), message: String(err.message || err) } });
    } finally {
      ops.delete(msg.id);
      if (busy === op) busy = null;
    }
  });
}

chrome.runtime.onConnect.addListener((port) => {
  if (port.name === 'hoviat-page') onPagePort(port);
  else if (port.name === 'hoviat-pin') onPinPort(port);
  else port.disconnect();
});
