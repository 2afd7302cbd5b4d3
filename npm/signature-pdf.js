// public: verifyPdfSignatures
// Signed PDFs (issue 19): verifyPdfSignatures, the PDF sibling of verifySignature. Concatenated
// after api.js by scripts/build-pkg (it uses api.js's Slot, fullSlot, PLATFORM, BACKENDS,
// DEFAULT_BACKEND, withTrust, platformPasses, toError, HoviatError, needObject). Like
// verifySignature it lives in the full module (in Node the main one; in a browser
// web/core.wasm, fetched on first use) and runs on every backend: 'wasm' (RustCrypto in the
// module), 'webcrypto' and 'node' (the platform discharges the core's signature checks).

/**
 * Verifies every signature of a PDF (each signature dictionary's `/ByteRange` and the detached
 * CMS in its `/Contents`): the same verdicts, codes and result object as
 * `hoviat verify-signature --pdf`. `pdf`: the file's bytes (Uint8Array or ArrayBuffer).
 * Bytes added after the last signature: PDF_MODIFIED_AFTER_SIGNING.
 */
async function verifyPdfSignatures(pdf, options) {
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
  if (fullSlot === null) fullSlot = PLATFORM.fullSource ? new Slot('core', await PLATFORM.fullSource()) : main;
  const full = await fullSlot.ready();
  const opts = withTrust(options, full, fullSlot);
  if (backend === 'wasm') {
    try {
      return full.verifyPdfSignatures(pdf, opts);
    } catch (e) {
      throw toError(e, fullSlot);
    }
  }
  let job;
  try {
    job = new full.PdfJob(pdf, opts);
  } catch (e) {
    throw toError(e, fullSlot);
  }
  return platformPasses(job, backend, options.parallel, fullSlot);
}
