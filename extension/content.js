// hoviat content script: relays namespaced window.postMessage requests from the page to the
// extension's service worker, and the answers back. Only messages the page posts to itself
// (event.source === window) with data.hoviat === "request" are considered; their shape and sizes
// are checked here and again in the service worker; floods are rate-limited. The origin is never
// taken from the page: the service worker reads it from the browser (port.sender.origin). With
// each request goes what only this (isolated) script can see, not the page: whether the page
// has a fresh user gesture (navigator.userActivation), is visible and has focus; the service
// worker opens its window only for such a request.
(() => {
  'use strict';
  const ACTIONS = new Set(['version', 'info', 'authenticate', 'cancel']);
  const ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;
  const NONCE_RE = /^[A-Za-z0-9+/=_-]{44,128}$/;
  const RATE_WINDOW_MS = 1000;
  const RATE_MAX = 20; // requests per window
  const MAX_INFLIGHT = 8;
  const VERSION = chrome.runtime.getManifest().version;
  const target = window.location.origin === 'null' ? '*' : window.location.origin;

  let windowStart = 0;
  let count = 0;
  let port = null;
  const inflight = new Set();

  // The last trusted user input (the page cannot forge isTrusted events, and this listener, added
  // at document_start in the capture phase, runs before any of the page's). A window operation
  // needs one that no earlier window operation used: one gesture, one window.
  let gestureAt = -Infinity;
  const GESTURE_MS = 5000;
  for (const type of ['pointerdown', 'mousedown', 'keydown', 'touchend', 'click']) {
    window.addEventListener(type, (e) => {
      if (e.isTrusted) gestureAt = performance.now();
    }, true);
  }

  const post = (m) => window.postMessage(m, target);
  const fail = (id, code, message) => post({ hoviat: 'response', id, ok: false, error: { code, message } });
  const ready = () => post({ hoviat: 'ready', version: VERSION });

  function getPort() {
    if (port) return port;
    try {
      port = chrome.runtime.connect({ name: 'hoviat-page' });
    } catch (e) {
      return null; // the extension was reloaded or removed under this page
    }
    port.onMessage.addListener((m) => {
      if (!m || typeof m !== 'object' || typeof m.id !== 'string' || !inflight.has(m.id)) return;
      if (typeof m.status === 'string' && !('ok' in m)) {
        post({ hoviat: 'status', id: m.id, status: m.status });
        return;
      }
      inflight.delete(m.id);
      if (m.ok === true) post({ hoviat: 'response', id: m.id, ok: true, result: m.result });
      else {
        const e = m.error && typeof m.error === 'object' ? m.error : {};
        fail(m.id, String(e.code || 'EXTENSION_ERROR'), String(e.message || 'the extension failed'));
      }
    });
    port.onDisconnect.addListener(() => {
      port = null;
      for (const id of inflight) fail(id, 'EXTENSION_DISCONNECTED', 'the extension stopped answering; try again');
      inflight.clear();
    });
    return port;
  }

  // Returns an error message, or null when the request has exactly the allowed shape.
  function check(d) {
    for (const k of Object.keys(d)) {
      if (!['hoviat', 'id', 'action', 'params'].includes(k)) return `unknown field "${String(k).slice(0, 40)}"`;
    }
    if (typeof d.action !== 'string' || !ACTIONS.has(d.action)) return 'action must be version, info, authenticate or cancel';
    const p = d.params === undefined ? {} : d.params;
    if (!p || typeof p !== 'object' || Array.isArray(p)) return 'params must be an object';
    for (const k of Object.keys(p)) {
      if (k === 'reader') return 'the reader is chosen by the user in the extension\'s window, not by the page';
      if (!['nonce', 'share'].includes(k)) return `unknown parameter "${String(k).slice(0, 40)}"`;
    }
    if (p.share !== undefined && (typeof p.share !== 'boolean' || d.action !== 'info')) {
      return 'share is a boolean parameter of info only';
    }
    if (d.action === 'authenticate' && (typeof p.nonce !== 'string' || !NONCE_RE.test(p.nonce))) {
      return 'nonce must be 44 to 128 base64 characters';
    }
    if (d.action !== 'authenticate' && p.nonce !== undefined) return 'nonce is a parameter of authenticate only';
    return null;
  }

  window.addEventListener('message', (event) => {
    if (event.source !== window) return;
    const d = event.data;
    if (!d || typeof d !== 'object') return;
    if (d.hoviat === 'ping') {
      ready();
      return;
    }
    if (d.hoviat !== 'request') return;
    const id = typeof d.id === 'string' && ID_RE.test(d.id) ? d.id : null;
    const now = Date.now();
    if (now - windowStart >= RATE_WINDOW_MS) {
      windowStart = now;
      count = 0;
    }
    count += 1;
    if (count > RATE_MAX) {
      // Answer the first few over the limit so a page learns why; drop the rest of a flood.
      if (id && count <= RATE_MAX * 2) fail(id, 'EXTENSION_RATE_LIMITED', `more than ${RATE_MAX} requests a second`);
      return;
    }
    if (!id) return; // nothing to answer to
    let why;
    try {
      why = check(d);
    } catch (e) {
      why = 'unreadable request';
    }
    if (why) {
      fail(id, 'EXTENSION_BAD_REQUEST', why);
      return;
    }
    if (d.action !== 'cancel') {
      if (inflight.has(id)) return fail(id, 'EXTENSION_BAD_REQUEST', 'this id is already in use');
      if (inflight.size >= MAX_INFLIGHT) return fail(id, 'EXTENSION_BUSY', 'too many requests in progress');
    }
    const p = getPort();
    if (!p) return fail(id, 'EXTENSION_DISCONNECTED', 'the extension is not available; reload the page');
    const params = {};
    if (d.params && typeof d.params.nonce === 'string') params.nonce = d.params.nonce;
    if (d.params && d.params.share === true) params.share = true;
    const ua = navigator.userActivation;
    const windowOp = d.action === 'authenticate' || (d.action === 'info' && params.share === true);
    const fresh = Boolean(ua && ua.isActive) && performance.now() - gestureAt < GESTURE_MS;
    if (windowOp) gestureAt = -Infinity; // used up, whatever the answer
    const context = {
      activation: fresh,
      visible: document.visibilityState === 'visible',
      focused: document.hasFocus(),
    };
    inflight.add(id);
    try {
      p.postMessage({ id, action: d.action, params, context });
    } catch (e) {
      inflight.delete(id);
      fail(id, 'EXTENSION_DISCONNECTED', 'the extension is not available; reload the page');
    }
  });

  ready();
  document.addEventListener('DOMContentLoaded', ready, { once: true });
})();
