// Browser platform part of hoviat's API (scripts/build-pkg puts npm/api.js after it). The
// wrapper supplies `makeGlue` (the lite module's wasm-bindgen glue as a factory) and
// `VERSION`. Nothing here runs at import time.

// A compile source for one wasm file. `url()` holds the `new URL('./x.wasm', import.meta.url)`
// that Vite and webpack recognise (they emit the file and rewrite the URL).
function webSource(makeGlue, url) {
  return {
    makeGlue,
    compileSync() {
      throw new HoviatError('NOT_READY', 'hoviat is still loading its WebAssembly module: in a browser, await init() (or any async call) before the synchronous functions');
    },
    async compile(given) {
      let src = given !== undefined && given !== null ? given : url();
      if (src instanceof WebAssembly.Module) return src;
      if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) return WebAssembly.compile(src);
      if (typeof src === 'string' || src instanceof URL) src = fetch(src, { credentials: 'same-origin' });
      const res = await src;
      if (!res || typeof res.arrayBuffer !== 'function') throw new TypeError('wasm must be a WebAssembly.Module, bytes, a Response or a URL');
      if (!res.ok) throw new Error('HTTP ' + res.status + ' for ' + res.url);
      const type = (res.headers.get('content-type') || '').split(';')[0].trim().toLowerCase();
      // A dev server's fallback page where the wasm should be: say where to look.
      if (type === 'text/html') {
        throw new Error(res.url + ' is an HTML page, not the wasm file: the bundle looks for it where the server has none (Vite 7 or older in dev: optimizeDeps: { exclude: [\'hoviat\'] }; a custom setup: serve the package\'s web/*.wasm there, or pass init({ wasm }))');
      }
      // compileStreaming needs application/wasm; a server that sends another type still works.
      if (type === 'application/wasm' && typeof WebAssembly.compileStreaming === 'function') return WebAssembly.compileStreaming(res);
      return WebAssembly.compile(await res.arrayBuffer());
    },
  };
}

// Plain constants (not properties) so that a bundler can drop them when unused.
const DEFAULT_BACKEND = 'webcrypto';
const MAIN_NAME = 'lite';
const PLATFORM = {
  nodeCrypto: null,
  // backend 'wasm': the full module (RustCrypto), its own chunk, fetched only when used.
  fullSource: () => import('./full.js').then((m) => m.source(webSource)),
  loadExtension: () => import('./extension.js'),
};
const mainSource = /* @__PURE__ */ webSource(makeGlue, () => new URL('./lite.wasm', import.meta.url));
