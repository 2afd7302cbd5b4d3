// hoviat page client: talks to hoviat's browser extension through window.postMessage.
// Dependency-free ES module; the npm package re-exports it.
//
//   import { ExtensionTransport } from './page-client.js';
//   const t = await ExtensionTransport.detect(1000);        // throws { code: 'EXTENSION_MISSING' }
//   const token = await t.authenticate({ nonce, onStatus: (s) => console.log(s) });
//   // send `token` (the web-eid:1.0 object) to the server, which verifies it for this origin.
//
// Errors are thrown as HoviatError objects with a stable `.code`: EXTENSION_MISSING,
// EXTENSION_TIMEOUT, EXTENSION_BAD_REQUEST, EXTENSION_RATE_LIMITED, EXTENSION_BUSY,
// EXTENSION_HOST_MISSING, EXTENSION_HOST_VERSION_MISMATCH, EXTENSION_HOST_DISCONNECTED,
// EXTENSION_NO_USER_GESTURE, EXTENSION_TAB_NOT_ACTIVE, EXTENSION_COOLDOWN, EXTENSION_ORIGIN_UNKNOWN,
// USER_CANCELLED, EXTENSION_CANCELLED, and the host's and card's codes (NO_CARD, PIN_WRONG, ...).
//
// `authenticate` and `info({ share: true })` open the extension's own window; call them from a
// user action (a click) in the visible, focused page. The user picks the reader there.

/** An error with a stable machine-readable code. */
export class HoviatError extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = 'HoviatError';
    this.code = code;
  }
}

let counter = 0;
function newId() {
  counter += 1;
  const r = Math.floor(Math.random() * 0x100000000).toString(36);
  return `p${Date.now().toString(36)}.${r}.${counter}`;
}

/** The page side of hoviat's extension transport. */
export class ExtensionTransport {
  /**
   * @param {string} version the extension's version (from its ready message)
   * @param {Window} [win] the window to talk through (default: globalThis.window)
   */
  constructor(version, win) {
    this.extensionVersion = version;
    this.win = win || globalThis.window;
  }

  /**
   * Resolves when the extension announces itself within `timeoutMs`; otherwise throws
   * `EXTENSION_MISSING`.
   */
  static detect(timeoutMs = 1000, win) {
    const w = win || globalThis.window;
    return new Promise((resolve, reject) => {
      if (!w || typeof w.postMessage !== 'function') {
        reject(new HoviatError('EXTENSION_MISSING', 'no browser window'));
        return;
      }
      const onMessage = (ev) => {
        if (ev.source !== w || !ev.data || ev.data.hoviat !== 'ready') return;
        cleanup();
        resolve(new ExtensionTransport(String(ev.data.version || ''), w));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new HoviatError('EXTENSION_MISSING', 'the hoviat extension is not installed or not enabled on this site'));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        w.removeEventListener('message', onMessage);
      };
      w.addEventListener('message', onMessage);
      w.postMessage({ hoviat: 'ping' }, w.location.origin === 'null' ? '*' : w.location.origin);
    });
  }

  /** Sends one page-protocol request; resolves with `result` or throws a HoviatError. */
  request(action, params = {}, { onStatus, timeoutMs = 300000 } = {}) {
    const w = this.win;
    const id = newId();
    return new Promise((resolve, reject) => {
      const onMessage = (ev) => {
        const d = ev.data;
        if (ev.source !== w || !d || typeof d !== 'object' || d.id !== id) return;
        if (d.hoviat === 'status') {
          if (typeof onStatus === 'function') {
            try {
              onStatus(d.status);
            } catch (_) {
              /* the page's callback must not break the request */
            }
          }
          return;
        }
        if (d.hoviat !== 'response') return;
        cleanup();
        if (d.ok === true) resolve(d.result);
        else {
          const e = d.error && typeof d.error === 'object' ? d.error : {};
          reject(new HoviatError(String(e.code || 'EXTENSION_ERROR'), String(e.message || 'the extension failed')));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new HoviatError('EXTENSION_TIMEOUT', `no answer to ${action} in ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        w.removeEventListener('message', onMessage);
      };
      w.addEventListener('message', onMessage);
      w.postMessage({ hoviat: 'request', id, action, params }, w.location.origin === 'null' ? '*' : w.location.origin);
    });
  }

  /** `{ extension, protocol, host: { name, version, protocol } }`; fails when the host is missing. */
  version(opts) {
    return this.request('version', {}, opts);
  }

  /**
   * Without `share`: `{ cardPresent }` only — whether a card is inserted, nothing about it or
   * its holder, no window. With `share: true` (from a user action): the extension's window asks
   * the user to share the card's certificates, serial, reader and PIN state with this origin;
   * resolves `{ cardPresent: true, profile, atr, certificates, pins, cardSerial, assurance,
   * reader, traffic }`, or throws USER_CANCELLED.
   */
  info({ share, onStatus, timeoutMs } = {}) {
    if (share !== undefined && typeof share !== 'boolean') {
      return Promise.reject(new HoviatError('EXTENSION_BAD_REQUEST', 'share must be a boolean'));
    }
    return this.request('info', share ? { share: true } : {}, { onStatus, timeoutMs });
  }

  /**
   * Authenticates the card holder for this page's origin (the browser, not the page, tells the
   * extension the origin). The extension asks the PIN in its own window. Resolves with the
   * `web-eid:1.0` token object. Call it from a user action in the page; the user picks the
   * reader in the extension's window.
   */
  async authenticate({ nonce, onStatus, timeoutMs } = {}) {
    if (typeof nonce !== 'string') throw new HoviatError('EXTENSION_BAD_REQUEST', 'nonce must be a string');
    const r = await this.request('authenticate', { nonce }, { onStatus, timeoutMs });
    return r.token;
  }

  /** Cancels this page's running requests. */
  cancel() {
    return this.request('cancel', {}, { timeoutMs: 5000 });
  }
}
