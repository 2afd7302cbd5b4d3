// hoviat's JavaScript API, shared by the browser and Node builds. scripts/build-pkg puts this
// body after a platform part (npm/platform-web.js or npm/platform-node.js) that defines
// `PLATFORM`, `DEFAULT_BACKEND`, `MAIN_NAME` and `mainSource`, and exports the functions below as plain top-level names (so
// that a bundler drops what a page does not import).
//
// Nothing runs at import time: the WebAssembly module is fetched and compiled on first use
// (or by `init()`), then instantiated synchronously from the compiled module. After a trap
// (INTERNAL_PANIC) the next call re-creates the instance from that same compiled module.
//
// Sibling modules (npm/NAME.js, npm/transports/NAME.js) are concatenated after this file into the
// same scope; each lists the names the package exports in `// public:` lines like this one
// (scripts/build-pkg reads them), and may use HoviatError, toError, call, main and the helpers here.
// public: verifyToken, verifySignature, TrustStore, createNonce, NonceStore, nationalCode, connect, init
// public: HoviatError, version, defaultBackend, __panicForTest

class HoviatError extends Error {
  constructor(code, message, extra) {
    super(message);
    this.name = 'HoviatError';
    this.code = code;
    if (extra) Object.assign(this, extra);
  }
}

const TRANSPORTS = ['auto', 'virtual', 'extension', 'dastine', 'webusb', 'webserial', 'smartcard'];

function wasmUnavailable(what, e) {
  if (e instanceof HoviatError) return e;
  let why = String((e && e.message) || e);
  if (/unsafe-eval|Content.Security.Policy|CSP/i.test(why)) {
    why += " (the page's Content-Security-Policy must allow WebAssembly: script-src 'self' 'wasm-unsafe-eval')";
  }
  return new HoviatError('WASM_UNAVAILABLE', 'hoviat could not load its WebAssembly module (' + what + '): ' + why);
}

// One WebAssembly module: compiled once, instantiated on demand, re-instantiated after a trap.
// `source` gives { makeGlue(), compile(given?) -> Promise<WebAssembly.Module>, compileSync() }.
class Slot {
  constructor(name, source) {
    this.name = name;
    this.source = source;
    this.module = null;
    this.glue = null;
    this.poisoned = false;
    this.pending = null;
  }
  _instantiate() {
    let g;
    try {
      g = this.source.makeGlue();
      g.initSync({ module: this.module });
    } catch (e) {
      throw wasmUnavailable(this.name, e);
    }
    this.glue = g;
    this.poisoned = false;
    return g;
  }
  /** The live instance's glue, synchronously (Node compiles on the spot; a browser needs init()). */
  get() {
    if (this.glue !== null && !this.poisoned) return this.glue;
    if (this.module === null) {
      try {
        this.module = this.source.compileSync();
      } catch (e) {
        throw wasmUnavailable(this.name, e);
      }
    }
    return this._instantiate();
  }
  /** Like get(), or null when the module is not compiled yet and cannot be compiled synchronously. */
  tryGet() {
    try {
      return this.get();
    } catch (e) {
      if (e.code === 'NOT_READY') return null;
      throw e;
    }
  }
  async ready(given) {
    if (this.module === null) {
      if (this.pending === null) {
        // A failure is not kept: a later call (or init with bytes) may succeed.
        this.pending = this.source.compile(given).then(
          (m) => { this.module = m; this.pending = null; },
          (e) => { this.pending = null; throw wasmUnavailable(this.name, e); });
      }
      await this.pending;
    }
    return this.get();
  }
}

const main = /* @__PURE__ */ new Slot(MAIN_NAME, mainSource);
let fullSlot = null;

// The full module's slot: web/core.wasm in a browser (fetched on first use), the main one in Node.
async function fullModuleSlot() {
  if (fullSlot === null) fullSlot = PLATFORM.fullSource ? new Slot('core', await PLATFORM.fullSource()) : main;
  return fullSlot;
}

// Revocation inputs (CRLs, OCSP responses) are read in the full module only: the lite module a
// token page loads leaves their parsers out (BENCHMARKS.md, "Size-first browser build"). Any
// value given (even a wrong one) goes there, so that every verdict and error is the full
// module's own.
function readsRevocation(options) {
  const given = (v) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
  return given(options.crls) || given(options.ocspResponses)
    || (options.trust instanceof TrustStore && given(options.trust._input.crls));
}

function toError(e, slot) {
  if (e instanceof HoviatError) return e;
  if (e && typeof e === 'object' && e.name === 'HoviatError' && typeof e.code === 'string') {
    // The lite module sends the code and its structured detail; npm/messages.js words it.
    return new HoviatError(e.code, e.message || describe(e.code, e.detail));
  }
  if (typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError) {
    let detail = e.message;
    try { detail = (slot.glue && slot.glue.lastPanic()) || detail; } catch (_) { /* the instance is gone */ }
    slot.poisoned = true; // the next call instantiates the compiled module afresh
    return new HoviatError('INTERNAL_PANIC', 'hoviat hit an internal error and reloads itself: ' + detail);
  }
  return new HoviatError('INTERNAL_ERROR', String((e && e.message) || e));
}

function call(slot, fn) {
  const g = slot.get();
  try {
    return fn(g);
  } catch (e) {
    throw toError(e, slot);
  }
}

// A wasm object whose methods throw HoviatError, like the rest of the API (the raw VirtualCard
// of hoviat/virtual). Getters and fields read through.
function guarded(slot, obj) {
  return new Proxy(obj, {
    get(t, k) {
      const v = Reflect.get(t, k, t);
      if (typeof v !== 'function') return v;
      return (...args) => { try { return v.apply(t, args); } catch (e) { throw toError(e, slot); } };
    },
  });
}

/**
 * Loads the WebAssembly module now (otherwise the first call does). `options.wasm` replaces the
 * packaged file: a WebAssembly.Module, the bytes, a Response (or a promise of one) or a URL.
 */
async function init(options) {
  if (options !== undefined) needObject(options, 'options');
  await main.ready(options && options.wasm);
}

function needObject(v, what) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new HoviatError('INVALID_ARGUMENT', what + ' must be an object');
  }
}

const BACKENDS = ['wasm', 'webcrypto', 'node'];
const NODE_HASH = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

// Imported keys, by SHA-256 of the SPKI and the import parameters: the CA keys of a
// registry recur in every verification, so each is imported once. Bounded.
const keyCache = /* @__PURE__ */ new Map();
function importKey(subtle, c, importAlg) {
  const k = c.keyId + '|' + c.kind + '|' + c.hash + '|' + (c.namedCurve || '');
  let p = keyCache.get(k);
  if (p === undefined) {
    if (keyCache.size >= 64) keyCache.clear();
    p = subtle.importKey('spki', c.spki, importAlg, false, ['verify']);
    keyCache.set(k, p);
    p.catch(() => keyCache.delete(k));
  }
  return p;
}

// WebCrypto: every check of a verification at once.
function webcryptoVerify(checks) {
  const subtle = globalThis.crypto.subtle;
  return Promise.all(checks.map(async (c) => {
    try {
      const importAlg = c.kind === 'ecdsa' ? { name: 'ECDSA', namedCurve: c.namedCurve }
        : { name: c.kind === 'rsa-pss' ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5', hash: c.hash };
      const key = await importKey(subtle, c, importAlg);
      const params = c.kind === 'ecdsa' ? { name: 'ECDSA', hash: c.hash }
        : c.kind === 'rsa-pss' ? { name: 'RSA-PSS', saltLength: c.saltLength } : { name: 'RSASSA-PKCS1-v1_5' };
      return [c.id, await subtle.verify(params, key, c.signature, c.message)];
    } catch (_) {
      return [c.id, false];
    }
  }));
}

// node:crypto, synchronous (no hop to a worker thread, unlike Node's WebCrypto). Parsed
// public keys are kept by SHA-256 of the SPKI, as for WebCrypto. When a verification needs
// two or more slow checks (P-384 or P-521: ~0.5 ms each in Node 20's OpenSSL), all but one go
// to libuv's thread pool (node:crypto's callback form) while this thread does the rest: the
// verification takes about one slow check less, for the same CPU time plus a thread hop
// (~0.1 ms), so one slow check alone stays here. `parallel: false` keeps them all here.
const nodeKeys = /* @__PURE__ */ new Map();
const SLOW_CURVES = ['P-384', 'P-521'];
function nodeVerify(checks, parallel) {
  const nc = PLATFORM.nodeCrypto;
  const args = (c) => {
    let key = nodeKeys.get(c.keyId);
    if (key === undefined) {
      if (nodeKeys.size >= 64) nodeKeys.clear();
      key = nc.createPublicKey({ key: c.spki, format: 'der', type: 'spki' });
      nodeKeys.set(c.keyId, key);
    }
    const hash = NODE_HASH[c.hash];
    if (c.kind === 'ecdsa') return [hash, c.message, { key, dsaEncoding: 'ieee-p1363' }, c.signature];
    if (c.kind === 'rsa-pss') return [hash, c.message, { key, padding: nc.constants.RSA_PKCS1_PSS_PADDING, saltLength: c.saltLength }, c.signature];
    return [hash, c.message, key, c.signature];
  };
  const here = (c) => {
    try {
      return [c.id, nc.verify(...args(c))];
    } catch (_) {
      return [c.id, false];
    }
  };
  const slow = parallel === false ? [] : checks.filter((c) => c.kind === 'ecdsa' && SLOW_CURVES.includes(c.namedCurve));
  if (slow.length < 2) return checks.map(here);
  const away = slow.slice(1);
  const pool = away.map((c) => new Promise((resolve) => {
    try {
      nc.verify(...args(c), (err, ok) => resolve([c.id, !err && ok === true]));
    } catch (_) {
      resolve([c.id, false]);
    }
  }));
  const local = checks.filter((c) => !away.includes(c)).map(here);
  return Promise.all(pool).then((r) => local.concat(r));
}

// Trust parsed once for many verifications. It keeps its inputs so that another module
// instance (a fresh one after a trap, or the full module for backend 'wasm') gets its own
// parsed copy on first use.
const storeFinalizer = typeof FinalizationRegistry === 'function'
  ? /* @__PURE__ */ new FinalizationRegistry((h) => { try { h.mod.trustStoreFree(h.id); } catch (_) { /* instance gone */ } })
  : null;

class TrustStore {
  constructor(options) {
    needObject(options, 'options');
    this._input = { trustAnchors: options.trustAnchors, intermediates: options.intermediates, crls: options.crls };
    this._ids = new Map();
    this._freed = false;
    // Parsed now when the module is there (bad input fails here); in a browser before the
    // module has loaded, at the first verification.
    // (With CRLs it is parsed by the full module, at the first verification: see readsRevocation.)
    const g = PLATFORM.fullSource && readsRevocation({ crls: this._input.crls }) ? null : main.tryGet();
    if (g !== null) this._id(g, main);
  }
  _id(mod, slot) {
    if (this._freed) throw new HoviatError('TRUST_STORE_FREED', 'this TrustStore was freed');
    let id = this._ids.get(mod);
    if (id === undefined) {
      try { id = mod.trustStoreNew(this._input); } catch (e) { throw toError(e, slot); }
      this._ids.set(mod, id);
      if (storeFinalizer) storeFinalizer.register(this, { mod, id }, this);
    }
    return id;
  }
  /** Releases the parsed copies now (otherwise when this object is garbage-collected). */
  free() {
    if (storeFinalizer) storeFinalizer.unregister(this);
    for (const [mod, id] of this._ids) { try { mod.trustStoreFree(id); } catch (_) { /* instance gone */ } }
    this._ids.clear();
    this._freed = true;
  }
}

// Trust given as PEM text on every call (what most servers and pages do) is parsed once per
// distinct text and kept, like a TrustStore (up to 8 sets; the oldest is dropped). Only text
// that parsed is kept: any failure takes the uncached path, so errors are the same as without
// the cache. Bytes (Uint8Array) are not cached: a caller may change them between calls.
const trustCache = /* @__PURE__ */ new Map();
const TRUST_CACHE_SIZE = 8;
function pemList(v) {
  if (v === undefined) return [];
  const list = typeof v === 'string' ? [v] : Array.isArray(v) && v.length <= 64 ? v : null;
  return list !== null && list.every((x) => typeof x === 'string') ? list : null;
}
function parsedOnce(options, mod, slot) {
  if (options.trustStore !== undefined || options.trustAnchors === undefined) return options;
  const parts = [pemList(options.trustAnchors), pemList(options.intermediates), pemList(options.crls)];
  if (parts.includes(null)) return options;
  // Length-prefixed, so that different lists never share a key.
  const key = parts.map((l) => l.length + '[' + l.map((x) => x.length + ':' + x).join('') + ']').join('');
  if (key.length > 1 << 20) return options;
  let store = trustCache.get(key);
  let id;
  try {
    if (store === undefined) store = new TrustStore({ trustAnchors: options.trustAnchors, intermediates: options.intermediates, crls: options.crls });
    id = store._id(mod, slot);
  } catch (_) {
    return options;
  }
  if (!trustCache.has(key)) {
    if (trustCache.size >= TRUST_CACHE_SIZE) {
      const [oldKey, old] = trustCache.entries().next().value;
      trustCache.delete(oldKey);
      old.free();
    }
    trustCache.set(key, store);
  }
  const o = { ...options, trustStore: id };
  delete o.trustAnchors;
  delete o.intermediates;
  delete o.crls;
  return o;
}

function withTrust(options, mod, slot) {
  if (options.trust === undefined) return parsedOnce(options, mod, slot);
  if (!(options.trust instanceof TrustStore)) throw new HoviatError('INVALID_ARGUMENT', 'trust must be a TrustStore');
  const o = { ...options, trustStore: options.trust._id(mod, slot) };
  delete o.trust;
  return o;
}

async function verifyToken(token, options) {
  needObject(options, 'options');
  const backend = options.backend === undefined ? DEFAULT_BACKEND : options.backend;
  if (!BACKENDS.includes(backend)) {
    throw new HoviatError('INVALID_ARGUMENT', 'backend must be one of ' + BACKENDS.join(', '));
  }
  if (backend === 'wasm') {
    await fullModuleSlot();
    const full = await fullSlot.ready();
    const opts = withTrust(options, full, fullSlot);
    try {
      return full.verifyToken(token, opts);
    } catch (e) {
      throw toError(e, fullSlot);
    }
  }
  if (backend === 'node' && !PLATFORM.nodeCrypto) {
    throw new HoviatError('INVALID_ARGUMENT', 'the node backend exists only in Node');
  }
  if (backend === 'webcrypto' && !(globalThis.crypto && globalThis.crypto.subtle)) {
    throw new HoviatError('INVALID_ARGUMENT', 'WebCrypto is not available here (a secure context is needed)');
  }
  const slot = readsRevocation(options) ? await fullModuleSlot() : main;
  const core = await slot.ready();
  // The core's typed step API: it hands out the signatures its verdict needs, the platform
  // verifies them, and the core alone decides whether a verdict may stand (usually after one
  // round: when the platform confirms every check, the core releases its first pass's verdict).
  const opts = withTrust(options, core, slot);
  let job;
  try {
    job = new core.VerifyJob(token, opts);
  } catch (e) {
    throw toError(e, slot);
  }
  return platformPasses(job, backend, options.parallel, slot);
}

// A step's checks: their fields as JSON text and their bytes in one buffer (one copy out of
// the wasm memory); `spki`, `message` and `signature` become views into that buffer.
function pendingChecks(step) {
  const list = JSON.parse(step.checks);
  const b = step.bytes;
  for (const c of list) {
    for (const k of ['spki', 'message', 'signature']) c[k] = b.subarray(c[k][0], c[k][0] + c[k][1]);
  }
  return list;
}

// Drives the core's typed platform verification (`job.step`, hoviat::pki::platform): the core
// hands out the signatures its verdict needs, the platform verifies them, and the core alone
// decides whether a verdict may stand (usually after one round).
async function platformPasses(job, backend, parallel, slot) {
  try {
    let fresh = [];
    for (let round = 0; round < 8; round++) {
      let step;
      try { step = job.step(fresh); } catch (e) { throw toError(e, slot); }
      if (step.done) return step.result;
      const checks = pendingChecks(step);
      fresh = backend === 'node' ? await nodeVerify(checks, parallel) : await webcryptoVerify(checks);
    }
    throw new HoviatError('INTERNAL_ERROR', 'signature verification did not settle');
  } finally {
    try { job.free(); } catch (_) { /* already gone after a trap */ }
  }
}

/**
 * Verifies a CMS (PKCS#7) SignedData, attached or detached (what Dastine's CmsSign returns, and
 * what portals collect): the same verdicts, codes and result object as
 * `hoviat verify-signature`. `cms`: DER bytes, or base64 / PEM text. SHA-1 is refused with
 * ALGORITHM_DISALLOWED unless `allowSha1: true` (legacy documents; the result then says
 * `legacySha1: true`).
 */
async function verifySignature(cms, options) {
  return verifyInFull(cms, options, 'verifySignature', 'CmsJob');
}

// CMS and PDF verifications run in the full module only (in Node the main one; in a browser
// web/core.wasm, fetched on first use), so that pages verifying only tokens keep the lite
// module's size. Every backend runs there: `wasm` verifies in one call (`direct`), 'webcrypto'
// and 'node' discharge the checks of a `Job` step by step.
async function verifyInFull(input, options, direct, Job) {
  needObject(options, 'options');
  const backend = options.backend === undefined ? DEFAULT_BACKEND : options.backend;
  if (!BACKENDS.includes(backend)) {
    throw new HoviatError('INVALID_ARGUMENT', 'backend must be one of ' + BACKENDS.join(', '));
  }
  if (backend === 'node' && !PLATFORM.nodeCrypto) {
    throw new HoviatError('INVALID_ARGUMENT', 'the node backend exists only in Node');
  }
  if (backend === 'webcrypto' && !(globalThis.crypto && globalThis.crypto.subtle)) {
    throw new HoviatError('INVALID_ARGUMENT', 'WebCrypto is not available here (a secure context is needed)');
  }
  await fullModuleSlot();
  const full = await fullSlot.ready();
  const opts = withTrust(options, full, fullSlot);
  if (backend === 'wasm') {
    try {
      return full[direct](input, opts);
    } catch (e) {
      throw toError(e, fullSlot);
    }
  }
  let job;
  try {
    job = new full[Job](input, opts);
  } catch (e) {
    throw toError(e, fullSlot);
  }
  return platformPasses(job, backend, options.parallel, fullSlot);
}

/** A fresh challenge: 32 random bytes, base64 (in a browser, after init() or any async call). */
function createNonce() {
  return call(main, (c) => c.createNonce());
}

class NonceStore {
  constructor(options) {
    if (options !== undefined) needObject(options, 'options');
    this._inner = call(main, (c) => new c.NonceStore(options));
  }
  issue() {
    try { return this._inner.issue(); } catch (e) { throw toError(e, main); }
  }
  consume(nonce) {
    try { return this._inner.consume(nonce); } catch (e) { throw toError(e, main); }
  }
}

const nationalCode = {
  validate(code) {
    return call(main, (c) => c.validateNationalCode(code));
  },
};

function pageOrigin() {
  const loc = typeof globalThis.location === 'object' ? globalThis.location : null;
  return loc && typeof loc.origin === 'string' && loc.origin !== 'null' ? loc.origin : undefined;
}

class Card {
  constructor(transport, impl, onStatus, unavailable) {
    this.transport = transport;
    this.unavailable = unavailable || {};
    this._impl = impl;
    this._onStatus = typeof onStatus === 'function' ? onStatus : undefined;
  }
  // Extension: without `share`, only `{ cardPresent }`; `{ share: true }` (from a user action)
  // asks the user in the extension's window and then gives the card's details. The virtual
  // card (test equipment, no holder) always gives its details.
  async info(options) {
    const opts = options === undefined ? {} : options;
    needObject(opts, 'info options');
    if (opts.share !== undefined && typeof opts.share !== 'boolean') {
      throw new HoviatError('INVALID_ARGUMENT', 'share must be a boolean');
    }
    return this._impl.info(this._onStatus, opts.share === true);
  }
  async authenticate(args) {
    needObject(args, 'authenticate options');
    return this._impl.authenticate(args, this._onStatus);
  }
}

function virtualImpl(slot, opts) {
  const card = call(slot, (mod) => new mod.VirtualCard(opts || {}));
  const guard = (fn) => { try { return fn(); } catch (e) { throw toError(e, slot); } };
  return {
    testRegistry: {
      trustAnchors: card.trustAnchors(),
      intermediates: card.intermediates(),
      crls: card.crls(),
      ocspResponse(status, o) { return guard(() => card.ocspResponse(status, o)); },
    },
    info(onStatus) { return guard(() => card.info(onStatus)); },
    authenticate(args, onStatus) {
      const origin = args.origin !== undefined ? args.origin : pageOrigin();
      if (origin === undefined) throw new HoviatError('INVALID_ARGUMENT', 'origin is required outside a browser page');
      return guard(() => ({ token: card.authenticate(origin, args.nonce, args.pin, onStatus), origin }));
    },
  };
}

async function extensionImpl(timeoutMs) {
  if (!PLATFORM.loadExtension) {
    throw new HoviatError('EXTENSION_MISSING', 'the browser extension transport exists only in browser pages');
  }
  let ext;
  try {
    ext = await PLATFORM.loadExtension();
  } catch (e) {
    throw new HoviatError('EXTENSION_MISSING', 'the extension client did not load: ' + String((e && e.message) || e));
  }
  let t;
  try {
    t = await ext.ExtensionTransport.detect(timeoutMs);
  } catch (e) {
    throw e && e.code ? new HoviatError(e.code, e.message) : toError(e, main);
  }
  const coded = (e) => (e instanceof HoviatError ? e : e && e.code ? new HoviatError(e.code, e.message) : toError(e, main));
  return {
    async info(onStatus, share) {
      try { return await t.info({ share, onStatus }); } catch (e) { throw coded(e); }
    },
    async authenticate(args, onStatus) {
      // The extension signs for the origin the browser reports; the page cannot choose it,
      // nor the reader (the user picks it in the extension's window).
      let token;
      try { token = await t.authenticate({ nonce: args.nonce, onStatus }); } catch (e) { throw coded(e); }
      return { token, origin: pageOrigin() };
    },
  };
}

// `virtual`: the test-kit module's Slot when called from the hoviat/virtual entry, else null.
async function connectWith(options, virtual) {
  const opts = options === undefined ? {} : options;
  needObject(opts, 'options');
  const transport = opts.transport === undefined ? 'auto' : opts.transport;
  if (!TRANSPORTS.includes(transport)) {
    throw new HoviatError('INVALID_ARGUMENT', 'transport must be one of ' + TRANSPORTS.join(', '));
  }
  if (opts.onStatus !== undefined && typeof opts.onStatus !== 'function') {
    throw new HoviatError('INVALID_ARGUMENT', 'onStatus must be a function');
  }
  if (transport === 'virtual') {
    if (virtual === null) {
      throw new HoviatError('TRANSPORT_UNAVAILABLE', "the virtual card is test equipment and lives in its own entry: import { connect } from 'hoviat/virtual'");
    }
    await virtual.ready();
    const impl = virtualImpl(virtual, opts.virtual);
    const card = new Card('virtual', impl, opts.onStatus);
    card.testRegistry = impl.testRegistry;
    return card;
  }
  if (transport === 'extension') {
    return new Card('extension', await extensionImpl(opts.timeoutMs || 1500), opts.onStatus);
  }
  if (transport === 'dastine') {
    // The vendor middleware (npm/dastine.js): signatures through the registry-keyed session.
    const impl = await dastineImpl(opts.dastine, opts.onStatus);
    const card = new Card('dastine', impl, opts.onStatus);
    for (const m of ['authenticateByPin', 'selectCertificate', 'selectedCertificate', 'cmsSign', 'nidSign', 'close']) card[m] = impl[m];
    return card;
  }
  if (transport !== 'auto') return connectDirect(transport, opts);
  // auto: npm/transports/common.js (the Web Smart Card API, the extension, then a serial port
  // or USB reader this site was already granted); says why the others are not used.
  return connectAuto(opts, () => extensionImpl(opts.timeoutMs || 1500));
}

/** Connects to a card: the browser extension (auto). The virtual card is in 'hoviat/virtual'. */
function connect(options) {
  return connectWith(options, null);
}

/** For the package's own tests: proves that a panic becomes a HoviatError and that hoviat recovers. */
function __panicForTest() {
  return call(main, (c) => c.__panicForTest());
}

const version = VERSION;
const defaultBackend = DEFAULT_BACKEND;
