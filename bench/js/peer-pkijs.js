// The job done with pkijs + WebCrypto: parse token and certificates, CertificateChainValidationEngine
// (names, signatures, validity, basicConstraints), holder checks, token signature. Bundled by esbuild.
import * as pkijs from 'pkijs';
import { parseToken, pemBlocks, verifyTokenSignature } from './common.js';

export const name = 'pkijs + WebCrypto';

const KU_DIGITAL_SIGNATURE = 0x80;

/** w: {token, anchorsPem, intermediatesPem, origin, nonce, at (RFC 3339)}. Resolves or throws. */
export async function verify(w) {
  const tok = parseToken(w.token);
  const holder = pkijs.Certificate.fromBER(tok.certDer);
  const anchors = pemBlocks(w.anchorsPem).map((d) => pkijs.Certificate.fromBER(d));
  const inters = pemBlocks(w.intermediatesPem).map((d) => pkijs.Certificate.fromBER(d));
  // Holder: an end-entity certificate whose key usage allows signatures.
  for (const e of holder.extensions || []) {
    if (e.extnID === '2.5.29.19' && e.parsedValue && e.parsedValue.cA) throw new Error('CERT_IS_CA');
    if (e.extnID === '2.5.29.15' && e.parsedValue) {
      const bits = new Uint8Array(e.parsedValue.valueBlock.valueHexView);
      if (!(bits[0] & KU_DIGITAL_SIGNATURE)) throw new Error('CERT_KEY_USAGE');
    }
  }
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts: anchors,
    certs: [holder, ...inters],
    checkDate: new Date(w.at),
  });
  const r = await engine.verify();
  if (!r.result) throw new Error(`CHAIN: ${r.resultMessage}`);
  const spki = holder.subjectPublicKeyInfo.toSchema().toBER(false);
  await verifyTokenSignature(globalThis.crypto.subtle, spki, tok, w.origin, w.nonce);
  return { ok: true, chain: r.certificatePath ? r.certificatePath.length : null };
}
