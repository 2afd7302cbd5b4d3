// public: verifyPdfSignatures
// Signed PDFs (issue 19): verifyPdfSignatures, the PDF sibling of verifySignature. Concatenated
// after api.js by scripts/build-pkg; like verifySignature it runs in the full module on every
// backend through api.js's verifyInFull.

/**
 * Verifies every signature of a PDF (each signature dictionary's `/ByteRange` and the detached
 * CMS in its `/Contents`): the same verdicts, codes and result object as
 * `hoviat verify-signature --pdf`. `pdf`: the file's bytes (Uint8Array or ArrayBuffer).
 * Bytes added after the last signature: PDF_MODIFIED_AFTER_SIGNING.
 */
async function verifyPdfSignatures(pdf, options) {
  return verifyInFull(pdf, options, 'verifyPdfSignatures', 'PdfJob');
}
