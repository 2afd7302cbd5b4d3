// The Dastine transport: the vendor middleware (Pendar Kooshk Imen) through which Iranian
// portals reach the national card's signature today (../shared/reference/esign.md). A local
// service on the loopback: ws://127.0.0.1:51356/dastine from http pages,
// wss://localhost.dastine.pki.co.ir:51357/dastine (a public name resolving to the loopback)
// from https pages. One JSON request per call, `{command, src: 'dastine.js', info, ...}`;
// the reply `{command, Result}` carries the payload, or a numeric code as a string ("0" is
// success for calls without payload). There is no request id, so calls are serialised: one
// command at a time. The site's own licensed configuration (a <Configuration> XML the vendor
// signed) is passed through as given: hoviat never makes one.
//
// Every numeric code and every client state becomes a stable DASTINE_* code (README "Stable
// error codes"; sentences in www/messages.js), with `dastineCode` (the number) on the error.

const DASTINE_HTTP_URL = 'ws://127.0.0.1:51356/dastine';
const DASTINE_HTTPS_URL = 'wss://localhost.dastine.pki.co.ir:51357/dastine';
const DASTINE_MAX_REPLY = 16 * 1024 * 1024;

// Numeric code -> [stable code, English sentence]. Ranges are resolved in dastineError().
const DASTINE_ERRORS = {
  10: ['DASTINE_UNKNOWN_ERROR', 'Dastine reported an unknown error.'],
  11: ['DASTINE_CERT_NOT_SELECTED', 'No certificate is selected in Dastine: choose your card\'s certificate first.'],
  12: ['DASTINE_HASH_UNSUPPORTED', 'Dastine does not support the requested hash algorithm.'],
  13: ['DASTINE_PIN_TIMEOUT', 'The PIN window closed because no PIN was entered in time.'],
  14: ['DASTINE_PIN_WRONG', 'The PIN is wrong.'],
  18: ['DASTINE_CANCELLED', 'The operation was cancelled in the Dastine window.'],
  29: ['DASTINE_PIN_BLOCKED', 'The PIN is blocked after too many wrong tries.'],
  30: ['DASTINE_NO_PRIVATE_KEY', 'The selected certificate has no private key on this card or token.'],
  34: ['DASTINE_INPUT_NOT_BASE64', 'Dastine was sent data that is not base64.'],
  56: ['DASTINE_CMS_SIGN_FAILED', 'Dastine could not make the CMS signature.'],
  57: ['DASTINE_CMS_ATTRIBUTE_INVALID', 'Dastine refused a CMS attribute.'],
  86: ['DASTINE_CONFIG_SIGNATURE_INVALID', 'Dastine refused this site\'s configuration: its vendor signature does not verify.'],
  89: ['DASTINE_TOKEN_NOT_AVAILABLE', 'No card or token is available to Dastine.'],
  90: ['DASTINE_PUK_BLOCKED', 'The PUK is blocked.'],
  120: ['DASTINE_RESPONSE_TIMEOUT', 'Dastine did not answer in time.'],
  206: ['DASTINE_NID_SM_SERVER_UNREACHABLE', 'The registry\'s secure-messaging server cannot be reached.'],
  211: ['DASTINE_NID_SIGNING_SERVER_UNAVAILABLE', 'The registry\'s signing server is unavailable.'],
};

/** The HoviatError for a numeric Dastine code (a string or number) in reply to `command`. */
function dastineError(n, command) {
  const num = Number(n);
  let code;
  let sentence;
  const extra = { dastineCode: num, command };
  if (DASTINE_ERRORS[num]) {
    [code, sentence] = DASTINE_ERRORS[num];
  } else if (num >= 80 && num <= 85) {
    code = 'DASTINE_CONFIG_INVALID';
    sentence = 'Dastine refused this site\'s configuration (error ' + num + ').';
  } else if (num >= 91 && num <= 99) {
    code = 'DASTINE_NOT_AUTHENTICATED';
    extra.triesLeft = num - 90;
    sentence = 'The card is not authenticated: enter the PIN first (' + (num - 90) + ' tries left).';
  } else if (num >= 200 && num <= 211) {
    code = 'DASTINE_NID_CARD_ERROR';
    sentence = 'The national card reported error ' + num + ' through Dastine.';
  } else {
    code = 'DASTINE_UNKNOWN_ERROR';
    sentence = 'Dastine reported error ' + num + '.';
  }
  return new HoviatError(code, sentence + ' (Dastine ' + num + ', ' + command + ')', extra);
}

function utf8Base64(data, what) {
  let bytes;
  if (typeof data === 'string') bytes = new TextEncoder().encode(data);
  else if (data instanceof Uint8Array) bytes = data;
  else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else throw new HoviatError('INVALID_ARGUMENT', what + ' must be a string, a Uint8Array or an ArrayBuffer');
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

// The per-tab id the vendor's client keeps in sessionStorage (15 characters).
function dastineInfo() {
  const key = 'hoviat.dastine.info';
  let store = null;
  try { store = globalThis.sessionStorage || null; } catch (_) { /* sandboxed frame */ }
  const kept = store && store.getItem(key);
  if (kept && /^[A-Za-z0-9]{15}$/.test(kept)) return kept;
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const r = new Uint8Array(15);
  globalThis.crypto.getRandomValues(r);
  const id = Array.from(r, (b) => abc[b % abc.length]).join('');
  try { if (store) store.setItem(key, id); } catch (_) { /* storage full or denied */ }
  return id;
}

function versionBelow(have, want) {
  const a = String(have).split('.').map((x) => parseInt(x, 10) || 0);
  const b = String(want).split('.').map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) < (b[i] || 0);
  }
  return false;
}

const DASTINE_PAYLOAD = ['GetSelectedCertificate', 'Sign', 'CmsSign', 'CmsSignWithAttributes', 'NIDSign', 'ReadSerialNumber', 'ReadPrintedData', 'GetVersion'];

class DastineSession {
  constructor(opts, onStatus) {
    this.opts = opts;
    this.onStatus = onStatus;
    this.ws = null;
    this.queue = Promise.resolve();
    this.pending = null; // { command, resolve, reject, timer }
    this.info = dastineInfo();
    this.keepAlive = null;
    this.closed = false;
  }
  status(s) { if (this.onStatus) { try { this.onStatus(s); } catch (_) { /* the page's callback */ } } }
  url() {
    if (this.opts.url !== undefined) return this.opts.url;
    const loc = typeof globalThis.location === 'object' ? globalThis.location : null;
    if (loc && loc.protocol === 'https:') {
      return this.opts.sslPort ? DASTINE_HTTPS_URL.replace(':51357', ':' + this.opts.sslPort) : DASTINE_HTTPS_URL;
    }
    return this.opts.port ? DASTINE_HTTP_URL.replace(':51356', ':' + this.opts.port) : DASTINE_HTTP_URL;
  }
  // Opens the socket: `retries` tries (default 5), `retryDelayMs` apart (default 10 s), as the
  // vendor's client does; then DASTINE_NOT_INSTALLED.
  async open() {
    const WS = this.opts.WebSocket || globalThis.WebSocket;
    if (typeof WS !== 'function') {
      throw new HoviatError('TRANSPORT_UNAVAILABLE', 'the dastine transport needs WebSocket (a browser page, Node 22+, or options.dastine.WebSocket)');
    }
    const url = this.url();
    const tries = this.opts.retries === undefined ? 5 : this.opts.retries;
    const delay = this.opts.retryDelayMs === undefined ? 10_000 : this.opts.retryDelayMs;
    let last = '';
    for (let i = 0; i < tries; i++) {
      if (i > 0) {
        this.status('dastine-waiting');
        await new Promise((r) => setTimeout(r, delay));
      }
      this.status('dastine-connecting');
      try {
        this.ws = await new Promise((resolve, reject) => {
          let ws;
          try { ws = new WS(url); } catch (e) { reject(e); return; }
          ws.onopen = () => resolve(ws);
          ws.onerror = () => reject(new Error('cannot connect to ' + url));
          ws.onclose = () => reject(new Error('connection to ' + url + ' closed'));
        });
        break;
      } catch (e) {
        last = String((e && e.message) || e);
      }
    }
    if (!this.ws) {
      throw new HoviatError('DASTINE_NOT_INSTALLED', 'Dastine is not installed or not running on this computer (' + last + ', ' + tries + ' tries).');
    }
    this.ws.onmessage = (ev) => this.message(ev.data);
    this.ws.onerror = () => {};
    this.ws.onclose = () => {
      this.closed = true;
      this.stopKeepAlive();
      this.status('dastine-closed');
      if (this.pending) {
        const p = this.pending;
        this.pending = null;
        clearTimeout(p.timer);
        p.reject(new HoviatError('DASTINE_CLOSED', 'The connection to Dastine closed (the service stopped or restarted) during ' + p.command + '.', { command: p.command }));
      }
    };
    this.status('dastine-connected');
    const every = this.opts.keepAliveMs === undefined ? 60_000 : this.opts.keepAliveMs;
    if (every > 0) {
      this.keepAlive = setInterval(() => { this.call('DastineIsAlive', {}).catch(() => {}); }, every);
      if (this.keepAlive && typeof this.keepAlive.unref === 'function') this.keepAlive.unref();
    }
  }
  stopKeepAlive() {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
  }
  message(data) {
    const p = this.pending;
    let reply;
    try {
      if (typeof data !== 'string' || data.length > DASTINE_MAX_REPLY) throw new Error('not a text reply of bounded size');
      reply = JSON.parse(data);
      if (reply === null || typeof reply !== 'object') throw new Error('not an object');
    } catch (e) {
      if (p) { this.pending = null; clearTimeout(p.timer); p.reject(new HoviatError('DASTINE_BAD_REPLY', 'Dastine sent a reply hoviat cannot read (' + e.message + ').', { command: p.command })); }
      return;
    }
    // A reply to no outstanding call, or to another command, is ignored (e.g. a late reply
    // after a timeout): with no request id, only the command name ties them.
    if (!p || reply.command !== p.command) return;
    this.pending = null;
    clearTimeout(p.timer);
    p.resolve(reply);
  }
  /** Sends one command after the previous one has been answered; resolves with the reply. */
  call(command, params, timeoutMs) {
    const run = () => new Promise((resolve, reject) => {
      if (this.closed || !this.ws) {
        reject(new HoviatError('DASTINE_CLOSED', 'The connection to Dastine is closed.', { command }));
        return;
      }
      const limit = timeoutMs || this.opts.timeoutMs || 120_000;
      const timer = setTimeout(() => {
        if (this.pending && this.pending.command === command) this.pending = null;
        reject(new HoviatError('DASTINE_RESPONSE_TIMEOUT', 'Dastine did not answer ' + command + ' within ' + limit + ' ms.', { command }));
      }, limit);
      this.pending = { command, resolve, reject, timer };
      try {
        this.ws.send(JSON.stringify({ command, src: 'dastine.js', info: this.info, ...params }));
      } catch (e) {
        this.pending = null;
        clearTimeout(timer);
        reject(new HoviatError('DASTINE_CLOSED', 'The connection to Dastine is closed (' + e.message + ').', { command }));
      }
    });
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }
  /** A call whose Result is "0" on success, or a payload (base64 or text) for payload commands. */
  async result(command, params, timeoutMs) {
    const reply = await this.call(command, params, timeoutMs);
    const r = reply.Result;
    if (typeof r !== 'string' && typeof r !== 'number') {
      throw new HoviatError('DASTINE_BAD_REPLY', 'Dastine\'s reply to ' + command + ' has no Result.', { command });
    }
    const s = String(r);
    if (DASTINE_PAYLOAD.includes(command)) {
      // A payload (base64, or a dotted version) is never a short number; that is an error code.
      if (/^\d{1,4}$/.test(s)) throw dastineError(s, command);
      return s;
    }
    if (s === '0') return s;
    if (/^\d{1,4}$/.test(s)) throw dastineError(s, command);
    throw new HoviatError('DASTINE_BAD_REPLY', 'Dastine answered ' + command + ' with an unexpected Result.', { command });
  }
  close() {
    this.stopKeepAlive();
    this.closed = true;
    try { if (this.ws) this.ws.close(); } catch (_) { /* already closed */ }
  }
}

function optString(v, what) {
  if (v === undefined) return '';
  if (typeof v !== 'string' || v.length > 4096) throw new HoviatError('INVALID_ARGUMENT', what + ' must be a string');
  return v;
}

/**
 * Opens a Dastine session: connects (with retries), checks the version when `minVersion` is
 * given, and passes the site's licensed `config` XML through SetConfig when given.
 */
async function dastineImpl(opts, onStatus) {
  const o = opts === undefined ? {} : opts;
  needObject(o, 'dastine options');
  if (o.config !== undefined && (typeof o.config !== 'string' || o.config.length > 1024 * 1024)) {
    throw new HoviatError('INVALID_ARGUMENT', 'dastine.config must be the site\'s licensed <Configuration> XML (a string)');
  }
  const s = new DastineSession(o, onStatus);
  await s.open();
  try {
    if (o.minVersion !== undefined) {
      const v = await s.result('GetVersion', {});
      if (versionBelow(v, o.minVersion)) {
        throw new HoviatError('DASTINE_VERSION_OUTDATED', 'The installed Dastine (' + v + ') is older than this site needs (' + o.minVersion + '): update it.', { version: v });
      }
    }
    if (o.config !== undefined) await s.result('SetConfig', { config: o.config });
  } catch (e) {
    s.close();
    throw e;
  }
  return {
    session: s,
    info() {
      return Promise.reject(new HoviatError('TRANSPORT_UNAVAILABLE', 'the dastine transport does not read card details; use its signing methods'));
    },
    authenticate() {
      return Promise.reject(new HoviatError('TRANSPORT_UNAVAILABLE', 'the dastine transport makes signatures (cmsSign, nidSign), not web-eid tokens'));
    },
    /** NIDAuthenticateByPIN: Dastine's own window asks for the card's PIN. */
    async authenticateByPin(args) {
      const a = args === undefined ? {} : args;
      needObject(a, 'authenticateByPin options');
      await s.result('NIDAuthenticateByPIN', { cardReader: optString(a.cardReader, 'cardReader') }, a.timeoutMs);
    },
    /**
     * Selects the signing certificate: by `thumbprint` (+ `hashAlg`), by `subjectDn`, or in
     * Dastine's window (`from: 'token'` (default) or `'windows'`), filtered by issuer and key usages.
     */
    async selectCertificate(args) {
      const a = args === undefined ? {} : args;
      needObject(a, 'selectCertificate options');
      const issuer = optString(a.issuer, 'issuer');
      const keyUsages = optString(a.keyUsages, 'keyUsages');
      if (a.thumbprint !== undefined) {
        await s.result('SelectCertificateByThumbprint', { Thumbprint: optString(a.thumbprint, 'thumbprint'), hashAlg: optString(a.hashAlg || 'SHA1', 'hashAlg') }, a.timeoutMs);
      } else if (a.subjectDn !== undefined) {
        const cmd = a.from === 'windows' ? 'SelectCertificateFromWindowsBySubject' : 'SelectCertificateFromTokenBySubject';
        await s.result(cmd, { subjectDn: optString(a.subjectDn, 'subjectDn'), issuer, keyUsages }, a.timeoutMs);
      } else {
        if (a.from !== undefined && a.from !== 'token' && a.from !== 'windows') throw new HoviatError('INVALID_ARGUMENT', "from must be 'token' or 'windows'");
        const cmd = a.from === 'windows' ? 'SelectCertificateFromWindowsByUI' : 'SelectCertificateFromTokenByUI';
        await s.result(cmd, { issuer, keyUsages }, a.timeoutMs);
      }
      return s.result('GetSelectedCertificate', {});
    },
    /** The selected certificate, base64 DER. */
    selectedCertificate() { return s.result('GetSelectedCertificate', {}); },
    /**
     * CmsSign with the selected certificate: `data` (bytes, or a string as UTF-8) is sent as
     * base64; `attach` (default true) puts the content in the message; `hash` defaults to
     * 'SHA256' here (Dastine's own default is SHA1, which verifySignature refuses by default).
     * Returns the CMS, base64.
     */
    cmsSign(data, args) {
      const a = args === undefined ? {} : args;
      needObject(a, 'cmsSign options');
      const hash = a.hash === undefined ? 'SHA256' : a.hash;
      if (!['SHA1', 'SHA256', 'SHA384', 'SHA512'].includes(hash)) throw new HoviatError('INVALID_ARGUMENT', 'hash must be SHA1, SHA256, SHA384 or SHA512');
      return s.result('CmsSign', { data: utf8Base64(data, 'data'), attach: a.attach !== false, hash }, a.timeoutMs);
    },
    /**
     * NIDSign: the national card signs `data` through the registry's signing server (errors
     * DASTINE_NID_SM_SERVER_UNREACHABLE, DASTINE_NID_SIGNING_SERVER_UNAVAILABLE). Returns
     * Dastine's Result as is (base64); its exact format is not documented: verify what it is.
     */
    nidSign(data, args) {
      const a = args === undefined ? {} : args;
      needObject(a, 'nidSign options');
      return s.result('NIDSign', { cardReader: optString(a.cardReader, 'cardReader'), data: utf8Base64(data, 'data') }, a.timeoutMs);
    },
    close() { s.close(); },
  };
}
