// Node platform part of hoviat's API (scripts/build-pkg puts npm/api.js after it, in one
// CommonJS file that both the ESM and the CommonJS entries load: one copy of the package).
// The wrapper supplies `makeGlue` (the full module's glue as a factory) and `VERSION`. The wasm
// is read and compiled synchronously on first use.
const nodeCrypto = require('node:crypto');

// The packaged wasm file: next to this file (../web/NAME), or through the package's own name
// when this file was bundled elsewhere (a server bundle with ssr.noExternal), or bytes given to
// init({ wasm }).
function nodeWasm(name) {
  const fs = require('node:fs');
  const path = require('node:path');
  const tried = [];
  const candidates = [];
  if (typeof __dirname === 'string') candidates.push(() => path.join(__dirname, '..', 'web', name));
  candidates.push(() => require('node:module').createRequire(path.join(process.cwd(), 'noop.js')).resolve('hoviat/web/' + name));
  for (const c of candidates) {
    let file;
    try {
      file = c();
      return fs.readFileSync(file);
    } catch (e) {
      tried.push(file || e.message);
    }
  }
  throw new Error('web/' + name + ' not found (tried ' + tried.join(', ') + '); pass the bytes: init({ wasm })');
}

function nodeSource(makeGlue, name) {
  return {
    makeGlue,
    compileSync() {
      return new WebAssembly.Module(nodeWasm(name));
    },
    async compile(given) {
      if (given === undefined || given === null) return this.compileSync();
      if (given instanceof WebAssembly.Module) return given;
      if (given instanceof ArrayBuffer || ArrayBuffer.isView(given)) return WebAssembly.compile(given);
      const res = await (typeof given === 'string' || given instanceof URL ? fetch(given) : given);
      if (!res || typeof res.arrayBuffer !== 'function') throw new TypeError('wasm must be a WebAssembly.Module, bytes, a Response or a URL');
      return WebAssembly.compile(await res.arrayBuffer());
    },
  };
}

// Plain constants (not properties) so that a bundler can drop them when unused.
const DEFAULT_BACKEND = 'node';
const MAIN_NAME = 'core';
const PLATFORM = {
  nodeCrypto,
  fullSource: null, // the main module is the full one
  loadExtension: null,
};
const mainSource = nodeSource(makeGlue, 'core.wasm');
