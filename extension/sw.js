// hoviat service worker (Chromium) / background script (Firefox): owns the native port to
// hoviat-host, takes the calling origin from the browser (port.sender.origin), never from the
// page, and talks to the user in the extension's own window (pin.html), never in the page.
//
// What a page can get:
//   - `version`, and `info` without `share`: `{ cardPresent }` — that the extension is there
//     and whether a card is inserted, nothing about the card or its holder;
//   - `info` with `share: true`: the card's certificates, serial, reader and PIN state, only
//     after the user confirmed it in the extension's window, which names the requesting origin
//     and shows what will be shared;
//   - `authenticate`: a token (which carries the authentication certificate), only after the
//     user typed the PIN in the extension's window, which names the origin and what is shared.
// Both window operations need a visible, focused tab and a user gesture in it; one operation
// per tab; a newer operation from another tab (with a gesture) ends an older one; the reader is
// chosen by the user in the window; after the user cancels, the origin waits before it may
// open the window again (doubling each time).
'use strict';

const HOST = 'ir.hoviat.host';
const PROTOCOL = 1;
const VERSION = chrome.runtime.getManifest().version;
const ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const NONCE_RE = /^[A-Za-z0-9+/=_-]{44,128}$/;
const HOST_CALL_TIMEOUT_MS = 180000;
const VERSION_TIMEOUT_MS = 10000;
const PIN_TIMEOUT_MS = 180000;
const LIST_TIMEOUT_MS = 10000;
// After the user cancels (or lets the window time out), the same origin may open the window
// again only after COOLDOWN_BASE_MS, doubling with each further cancel up to COOLDOWN_MAX_MS.
const COOLDOWN_BASE_MS = 5000;
const COOLDOWN_MAX_MS = 10 * 60 * 1000;
const MAX_COOLDOWN_ORIGINS = 1000;
const MAX_READERS_SHOWN = 16;

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

// Card operations go to the host one after the other (the host runs one at a time); `hostRunning`
// is the op whose call is in the host, so that aborting an op cancels only its own call.
let hostChain = Promise.resolve();
let hostRunning = null;

function hostCall(op, cmd, fields, onStatus) {
  const run = async () => {
    op.check();
    const n = await host();
    op.host = n;
    op.check();
    hostRunning = op;
    try {
      return await call(n, cmd, fields, onStatus, HOST_CALL_TIMEOUT_MS);
    } finally {
      if (hostRunning === op) hostRunning = null;
    }
  };
  const p = hostChain.then(run, run);
  hostChain = p.catch(() => {});
  return p;
}

async function listReaders() {
  const n = await host();
  const r = await call(n, 'list-readers', {}, null, LIST_TIMEOUT_MS);
  return Array.isArray(r && r.readers) ? r.readers.filter((x) => x && typeof x.name === 'string') : [];
}

// ---- The extension's window (pin.html) -----------------------------------------------------

const prompts = new Map(); // key -> prompt

function randomKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// The extension's own window for one operation. ask(state) shows a step and resolves with the
// user's answer to it ({reader}, {confirm}, {pin}); close() ends it; a cancel or a closed window
// rejects the waiting ask() with USER_CANCELLED.
function prompt(origin, purpose) {
  const key = randomKey();
  const pr = { key, origin, purpose, port: null, windowId: null, waiter: null, pending: null, closed: false, opened: false, userCancelled: false };
  prompts.set(key, pr);
  const settle = (fn, v) => {
    const w = pr.waiter;
    pr.waiter = null;
    if (w) {
      clearTimeout(w.timer);
      w[fn](v);
    }
  };
  pr.cancel = (code, message, byUser) => {
    if (pr.closed) return;
    pr.closed = true;
    if (byUser) pr.userCancelled = true;
    prompts.delete(key);
    settle('reject', coded(code, message));
    if (pr.windowId !== null) chrome.windows.remove(pr.windowId).catch(() => {});
  };
  pr.close = () => {
    if (pr.closed) return;
    pr.closed = true;
    prompts.delete(key);
    try { if (pr.port) pr.port.postMessage({ done: true }); } catch (_) { /* closed */ }
    if (pr.windowId !== null) chrome.windows.remove(pr.windowId).catch(() => {});
  };
  pr.ask = (state) => {
    if (pr.closed) return Promise.reject(coded('USER_CANCELLED', 'the window was closed'));
    pr.pending = state;
    const p = new Promise((resolve, reject) => {
      const timer = setTimeout(() => pr.cancel('EXTENSION_PIN_TIMEOUT', 'the user did not answer in time', true), PIN_TIMEOUT_MS);
      pr.waiter = { resolve, reject, timer, step: state.step };
    });
    if (pr.port) pr.port.postMessage({ origin, purpose, ...state });
    if (!pr.opened) {
      pr.opened = true;
      openWindow(pr);
    }
    return p;
  };
  // An answer from the window, accepted only for the step it was asked.
  pr.onAnswer = (m) => {
    const w = pr.waiter;
    if (!w) return;
    if (w.step === 'pin' && typeof m.pin === 'string' && /^[0-9]{4,16}$/.test(m.pin)) settle('resolve', { pin: m.pin });
    else if (w.step === 'confirm' && m.confirm === true) settle('resolve', { confirm: true });
    else if (w.step === 'reader' && typeof m.reader === 'string') settle('resolve', { reader: m.reader });
  };
  return pr;
}

async function openWindow(pr) {
  const url = chrome.runtime.getURL(`pin.html#${pr.key}`);
  try {
    const w = await chrome.windows.create({ url, type: 'popup', width: 480, height: 560, focused: true });
    pr.windowId = w.id;
    if (pr.closed) chrome.windows.remove(w.id).catch(() => {});
  } catch (e) {
    pr.cancel('EXTENSION_PIN_WINDOW_FAILED', `cannot open the extension's window: ${e.message}`);
  }
}

chrome.windows.onRemoved.addListener((windowId) => {
  for (const pr of prompts.values()) {
    if (pr.windowId === windowId) pr.cancel('USER_CANCELLED', 'the window was closed', true);
  }
});

function onPromptPort(port) {
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
      pr = prompts.get(m.hello) || null;
      if (!pr || pr.port) {
        port.postMessage({ done: true, error: 'ENDED' });
        pr = null;
        return;
      }
      pr.port = port;
      if (pr.pending) port.postMessage({ origin: pr.origin, purpose: pr.purpose, ...pr.pending });
      return;
    }
    if (!pr) return;
    if (m.cancel === true) pr.cancel('USER_CANCELLED', 'the user cancelled', true);
    else pr.onAnswer(m);
  });
  port.onDisconnect.addListener(() => {
    if (pr) pr.cancel('USER_CANCELLED', 'the window was closed', true);
  });
}

// ---- Who may open the window ---------------------------------------------------------------

// origin -> { count, until }: consecutive user cancels and when the origin may ask again.
const cooldowns = new Map();

function checkCooldown(origin) {
  const c = cooldowns.get(origin);
  if (!c) return;
  const left = c.until - Date.now();
  if (left > 0) {
    throw coded('EXTENSION_COOLDOWN', `the user declined this site's last request; it may ask again in ${Math.ceil(left / 1000)} s`);
  }
}

function noteCancelled(origin) {
  const c = cooldowns.get(origin) || { count: 0, until: 0 };
  c.count = Math.min(c.count + 1, 30);
  c.until = Date.now() + Math.min(COOLDOWN_BASE_MS * 2 ** (c.count - 1), COOLDOWN_MAX_MS);
  cooldowns.delete(origin);
  cooldowns.set(origin, c);
  if (cooldowns.size > MAX_COOLDOWN_ORIGINS) {
    const now = Date.now();
    for (const [o, v] of cooldowns) {
      if (v.until + COOLDOWN_MAX_MS < now || cooldowns.size > MAX_COOLDOWN_ORIGINS) cooldowns.delete(o);
      else break;
    }
  }
}

// A window operation starts only from a visible, focused tab, in the focused browser window,
// right after a user gesture in that page (as the content script saw it).
async function checkUserIntent(sender, ctx) {
  if (!ctx || ctx.activation !== true) {
    throw coded('EXTENSION_NO_USER_GESTURE', 'a card operation must start from a user action (a click or a key) in the page');
  }
  // port.sender.tab is a snapshot from when the page connected: ask the browser now.
  let tab = null;
  try {
    tab = sender.tab ? await chrome.tabs.get(sender.tab.id) : null;
  } catch (_) { /* gone */ }
  if (ctx.visible !== true || ctx.focused !== true || !tab || tab.active !== true) {
    throw coded('EXTENSION_TAB_NOT_ACTIVE', 'a card operation must start from the visible, focused tab');
  }
  let win = null;
  try {
    win = await chrome.windows.get(tab.windowId);
  } catch (_) { /* gone */ }
  if (!win || win.focused !== true) {
    throw coded('EXTENSION_TAB_NOT_ACTIVE', 'a card operation must start from the focused browser window');
  }
}

// ---- Card operations -----------------------------------------------------------------------

// The reader: the only one with a card, or the one the user picks in the window when several
// hold a card; none yet: undefined (the host waits for the first card inserted).
async function chooseReader(op) {
  const withCard = (await listReaders()).filter((r) => r.cardPresent === true).map((r) => r.name).slice(0, MAX_READERS_SHOWN);
  op.check();
  if (withCard.length <= 1) return withCard[0];
  const a = await op.prompt.ask({ step: 'reader', readers: withCard });
  op.check();
  if (!withCard.includes(a.reader)) throw coded('EXTENSION_BAD_REQUEST', 'the window answered with an unknown reader');
  return a.reader;
}

// What the window shows as shared: the certificates' subjects (names, national code).
function shareSummary(info, withDetails) {
  const certs = Array.isArray(info && info.certificates) ? info.certificates : [];
  const s = { subjects: certs.map((c) => String(c && c.subject || '')).filter(Boolean).slice(0, 4) };
  if (withDetails) {
    s.cardSerial = typeof info.cardSerial === 'string' ? info.cardSerial : null;
    s.reader = typeof info.reader === 'string' ? info.reader : null;
  }
  return s;
}

async function readCard(op, status) {
  const reader = await chooseReader(op);
  const info = await hostCall(op, 'info', reader ? { reader } : {}, (s) => s !== 'done' && status(s));
  op.check();
  if (!info || typeof info !== 'object') throw coded('HOST_BAD_MESSAGE', 'the host answered info without a result');
  return info;
}

async function shareInfo(op, status) {
  const info = await readCard(op, status);
  await op.prompt.ask({ step: 'confirm', share: shareSummary(info, true) });
  op.check();
  status('done');
  return { cardPresent: true, ...info };
}

async function authenticate(op, origin, params, status) {
  const info = await readCard(op, status);
  if (info.assurance !== 'holder-signature') {
    throw coded('CARD_NEEDS_REGISTRY_SERVICE', 'this card signs only inside the registry\'s secure-messaging session');
  }
  const pins = Array.isArray(info.pins) ? info.pins : [];
  if (pins.some((x) => x && x.state === 'blocked')) {
    throw coded('PIN_BLOCKED', 'the PIN is blocked; only the card issuer can unblock it');
  }
  const p0 = pins.find((x) => x && typeof x.triesLeft === 'number');
  let triesLeft = p0 ? p0.triesLeft : null;
  let error = null;
  const share = shareSummary(info, false);
  const reader = typeof info.reader === 'string' ? { reader: info.reader } : {};
  // The PIN is asked at every authentication (the host refuses to sign without one).
  for (;;) {
    status('waiting-for-pin');
    let { pin } = await op.prompt.ask({ step: 'pin', triesLeft, error, share });
    op.check();
    try {
      const fields = { origin, nonce: params.nonce, pin, ...reader };
      pin = null;
      const result = await hostCall(op, 'authenticate', fields, status);
      fields.pin = null;
      return { token: result.token };
    } catch (e) {
      if (e.code === 'PIN_WRONG' && !op.aborted) {
        const m = /(\d+) tries left/.exec(e.message);
        triesLeft = m ? Number(m[1]) : null;
        error = 'PIN_WRONG';
        continue;
      }
      throw e;
    }
  }
}

// ---- Requests from pages -------------------------------------------------------------------

const tabOps = new Map(); // tab id -> the tab's window operation (one per tab)
let current = null; // the window operation that owns the card and the window

function validPageMessage(m) {
  if (!m || typeof m !== 'object' || typeof m.id !== 'string' || !ID_RE.test(m.id)) return false;
  if (!['version', 'info', 'authenticate', 'cancel'].includes(m.action)) return false;
  const p = m.params;
  if (!p || typeof p !== 'object') return false;
  for (const k of Object.keys(p)) if (!['nonce', 'share'].includes(k)) return false;
  if (p.share !== undefined && (typeof p.share !== 'boolean' || m.action !== 'info')) return false;
  if (m.action === 'authenticate' && !(typeof p.nonce === 'string' && NONCE_RE.test(p.nonce))) return false;
  if (m.action !== 'authenticate' && p.nonce !== undefined) return false;
  const c = m.context;
  if (c !== undefined && (!c || typeof c !== 'object')) return false;
  return true;
}

function onPagePort(port) {
  const s = port.sender || {};
  // The origin comes from the browser (sender.origin); a page cannot choose it, and a sender
  // without one (no fallback to sender.url) is refused.
  const origin = typeof s.origin === 'string' && s.origin !== 'null' && /^https?:\/\//.test(s.origin) ? s.origin : null;
  const refuse = s.id !== chrome.runtime.id || !s.tab || typeof s.tab.id !== 'number' || !origin
    || (typeof s.frameId === 'number' && s.frameId !== 0);
  const tabId = s.tab ? s.tab.id : -1;
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
    const id = msg && typeof msg.id === 'string' && ID_RE.test(msg.id) ? msg.id : null;
    if (refuse) {
      if (id) send({ id, ok: false, error: { code: 'EXTENSION_ORIGIN_UNKNOWN', message: 'the browser did not report this page\'s origin' } });
      return;
    }
    if (!validPageMessage(msg)) {
      if (id) send({ id, ok: false, error: { code: 'EXTENSION_BAD_REQUEST', message: 'invalid request' } });
      return;
    }
    if (msg.action === 'cancel') {
      const cancelled = [];
      for (const [oid, op] of ops) {
        op.abort('EXTENSION_CANCELLED', 'cancelled by the page');
        cancelled.push(oid);
      }
      send({ id, ok: true, result: { cancelled } });
      return;
    }
    let lastStatus = null;
    const status = (st) => {
      if (st !== lastStatus && !op.aborted) {
        lastStatus = st;
        send({ id, status: st });
      }
    };
    const op = {
      aborted: null,
      prompt: null,
      host: null,
      tabId,
      check() {
        if (this.aborted) throw this.aborted;
      },
      abort(code, message) {
        if (this.aborted) return;
        this.aborted = coded(code, message);
        if (this.prompt) this.prompt.cancel(code, message);
        if (this.host && hostRunning === this) {
          try { this.host.port.postMessage({ v: PROTOCOL, id: `x${++seq}`, cmd: 'cancel' }); } catch (_) { /* gone */ }
        }
      },
    };
    const windowOp = msg.action === 'authenticate' || (msg.action === 'info' && msg.params.share === true);
    ops.set(id, op);
    try {
      let result;
      if (msg.action === 'version') {
        const n = await host();
        result = { extension: VERSION, protocol: PROTOCOL, host: n.hostVersion };
      } else if (!windowOp) {
        // Presence only: nothing about the card or its holder.
        const readers = await listReaders();
        result = { cardPresent: readers.some((r) => r.cardPresent === true) };
      } else {
        if (tabOps.has(tabId)) throw coded('EXTENSION_BUSY', 'this page already has a card operation in progress');
        tabOps.set(tabId, op);
        try {
          await checkUserIntent(s, msg.context);
          checkCooldown(origin);
          op.check();
          // The user acts in this tab now: an operation another tab left waiting ends.
          if (current && current !== op && current.tabId !== tabId) current.abort('EXTENSION_CANCELLED', 'another page started a card operation');
          current = op;
          op.prompt = prompt(origin, msg.action === 'authenticate' ? 'authenticate' : 'share');
          result = msg.action === 'authenticate'
            ? await authenticate(op, origin, msg.params, status)
            : await shareInfo(op, status);
          cooldowns.delete(origin);
        } catch (e) {
          if (op.prompt && op.prompt.userCancelled) noteCancelled(origin);
          throw e;
        } finally {
          if (op.prompt) op.prompt.close();
          if (tabOps.get(tabId) === op) tabOps.delete(tabId);
          if (current === op) current = null;
        }
      }
      op.check();
      send({ id, ok: true, result });
    } catch (e) {
      const err = op.aborted && e.code !== op.aborted.code ? op.aborted : e;
      send({ id, ok: false, error: { code: String(err.code || 'EXTENSION_ERROR'), message: String(err.message || err) } });
    } finally {
      ops.delete(id);
    }
  });
}

chrome.runtime.onConnect.addListener((port) => {
  if (port.name === 'hoviat-page') onPagePort(port);
  else if (port.name === 'hoviat-pin') onPromptPort(port);
  else port.disconnect();
});
