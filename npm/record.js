// public: makeRecord, verifyRecord, disclose
// Identity records (issue 17): makeRecord, verifyRecord, disclose. Concatenated after api.js by
// scripts/build-pkg (it uses api.js's Slot, fullSlot, PLATFORM, toError, HoviatError,
// needObject). The record calls live in the full module (in Node the main one; in a browser
// web/core.wasm, fetched on first use), like verifySignature.

async function recordModule() {
  return (await fullModuleSlot()).ready();
}

// ES256 over `input` with the terminal key: a WebCrypto CryptoKey (non-extractable is fine), a
// function (bytes) => raw r||s (an HSM, a remote signer), or in Node a KeyObject or PKCS#8 PEM.
async function signEs256(key, input) {
  const data = new TextEncoder().encode(input);
  let sig;
  if (typeof key === 'function') {
    sig = await key(data);
  } else if (key && typeof key === 'object' && key.type === 'private' && key.algorithm && globalThis.crypto && globalThis.crypto.subtle) {
    sig = await globalThis.crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, data);
  } else if (PLATFORM.nodeCrypto && key !== undefined && key !== null) {
    sig = PLATFORM.nodeCrypto.sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
  } else {
    throw new HoviatError('INVALID_ARGUMENT', 'terminalKey must be a WebCrypto ECDSA P-256 private key, a signing function, or (Node) a KeyObject or PKCS#8 PEM');
  }
  return sig instanceof Uint8Array ? sig : new Uint8Array(sig);
}

/**
 * Makes and seals an identity record (SD-JWT VC) from card facts, as `hoviat record make`: the
 * holder's certificate is validated against `registry`, the level is computed from the evidence,
 * only what the purpose requests is disclosed, and the terminal key seals it (checked against
 * the terminal certificate before the record is returned).
 */
async function makeRecord(options) {
  needObject(options, 'options');
  const full = await recordModule();
  const { terminalKey, ...rest } = options;
  let draft;
  try {
    draft = new full.RecordDraft(rest);
  } catch (e) {
    throw toError(e, fullSlot);
  }
  try {
    const level = draft.level;
    const missing = draft.missing;
    const issuedAt = new Date(draft.issuedAt * 1000).toISOString().replace('.000Z', 'Z');
    const sig = await signEs256(terminalKey, draft.signingInput());
    const record = draft.seal(sig);
    return { record, level, missing, issuedAt };
  } catch (e) {
    throw e instanceof HoviatError ? e : toError(e, fullSlot);
  } finally {
    try { draft.free(); } catch (_) { /* already gone */ }
  }
}

/** Verifies a record or a presentation, as `hoviat record verify`. */
async function verifyRecord(record, options) {
  needObject(options, 'options');
  const full = await recordModule();
  try {
    return full.verifyRecord(record, options);
  } catch (e) {
    throw toError(e, fullSlot);
  }
}

/** A presentation of `record` holding only the named attributes (the seal still verifies). */
async function disclose(record, attributes) {
  if (!Array.isArray(attributes) || !attributes.every((a) => typeof a === 'string')) {
    throw new HoviatError('INVALID_ARGUMENT', 'attributes must be an array of names');
  }
  const full = await recordModule();
  try {
    return full.discloseRecord(record, attributes);
  } catch (e) {
    throw toError(e, fullSlot);
  }
}
