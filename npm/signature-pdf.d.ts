
/** Options of verifyPdfSignatures: those of verifySignature without `content` and
 * `certificates` (the PDF carries the signed bytes; each CMS its certificates). */
export type PdfVerifyOptions = Omit<SignatureVerifyOptions, 'content' | 'certificates'>;

/** One verified signature of a PDF. */
export interface VerifiedPdfSignature {
  /** The signature dictionary's `/ByteRange [a b c d]`. */
  byteRange: [number, number, number, number];
  /** Whether it covers the file to its end (the last one must; earlier ones are followed by
   * incremental updates such as later signatures). */
  coversWholeFile: boolean;
  /** The CMS verification of its `/Contents` over the byte range. */
  cms: Omit<VerifiedSignature, 'verified' | 'sha1Allowed' | 'validationTime'>;
}

/** A PDF whose every signature verified: the object `hoviat verify-signature --pdf` prints. */
export interface VerifiedPdf {
  verified: true;
  signatures: VerifiedPdfSignature[];
  sha1Allowed: boolean;
  validationTime: string;
}

/**
 * Verifies every signature of a PDF (`/ByteRange` + the detached CMS in `/Contents`) with the
 * same verdicts and codes as `hoviat verify-signature --pdf`. Throws HoviatError
 * (PDF_MALFORMED, PDF_NO_SIGNATURE, PDF_MODIFIED_AFTER_SIGNING when bytes follow the last
 * signature, CMS_*, CERT_*, ALGORITHM_*, ...).
 */
export function verifyPdfSignatures(pdf: Uint8Array | ArrayBuffer, options: PdfVerifyOptions): Promise<VerifiedPdf>;
