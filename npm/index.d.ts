/** hoviat: read Iran's smart national ID card and verify its holder. */

/**
 * hoviat's stable error codes (README "Stable error codes"; the table is src/codes/mod.rs, and
 * `cargo test --test codes` keeps this list complete). Codes are never renamed; new ones may be
 * added, so `code` also admits other strings.
 */
export type HoviatErrorCode =
  | 'CERT_MALFORMED'
  | 'INPUT_TOO_LARGE'
  | 'CERT_EXPIRED'
  | 'CERT_NOT_YET_VALID'
  | 'CERT_IS_CA'
  | 'CERT_KEY_USAGE'
  | 'CERT_EKU_MISMATCH'
  | 'CERT_UNKNOWN_CRITICAL_EXTENSION'
  | 'CERT_UNTRUSTED'
  | 'CERT_ISSUER_NOT_CA'
  | 'CERT_ISSUER_KEY_USAGE'
  | 'CERT_PATH_LEN_EXCEEDED'
  | 'CERT_NAME_CONSTRAINTS'
  | 'CERT_SIGNATURE_INVALID'
  | 'CERT_PROFILE_VIOLATION'
  | 'CERT_POLICY_REFUSED'
  | 'ALGORITHM_UNSUPPORTED'
  | 'ALGORITHM_DISALLOWED'
  | 'KEY_TOO_SMALL'
  | 'KEY_MALFORMED'
  | 'CHAIN_TOO_LONG'
  | 'CHAIN_TOO_COMPLEX'
  | 'CERT_REVOKED'
  | 'CRL_MALFORMED'
  | 'CRL_SIGNATURE_INVALID'
  | 'CRL_EXPIRED'
  | 'CRL_NOT_YET_VALID'
  | 'CRL_ISSUER_NOT_AUTHORIZED'
  | 'CRL_ISSUER_MISMATCH'
  | 'CRL_UNSUPPORTED'
  | 'REVOCATION_UNKNOWN'
  | 'CRL_UNREACHABLE'
  | 'OCSP_RESPONDER_UNREACHABLE'
  | 'OCSP_CERT_UNKNOWN'
  | 'OCSP_MALFORMED'
  | 'OCSP_NOT_SUCCESSFUL'
  | 'OCSP_UNSUPPORTED'
  | 'OCSP_SIGNATURE_INVALID'
  | 'OCSP_RESPONDER_NOT_AUTHORIZED'
  | 'OCSP_CERT_ID_MISMATCH'
  | 'OCSP_NONCE_MISMATCH'
  | 'OCSP_NOT_YET_VALID'
  | 'OCSP_STALE'
  | 'TOKEN_TOO_LARGE'
  | 'TOKEN_MALFORMED'
  | 'TOKEN_FORMAT_UNSUPPORTED'
  | 'TOKEN_ALGORITHM_UNSUPPORTED'
  | 'TOKEN_SIGNATURE_MALFORMED'
  | 'TOKEN_ALGORITHM_KEY_MISMATCH'
  | 'TOKEN_SIGNATURE_INVALID'
  | 'ORIGIN_MISMATCH'
  | 'ORIGIN_INVALID'
  | 'NONCE_INVALID'
  | 'NONCE_UNKNOWN'
  | 'NONCE_EXPIRED'
  | 'NONCE_REPLAYED'
  | 'NONCE_STORE_UNAVAILABLE'
  | 'CHALLENGE_CLIENT_MISMATCH'
  | 'CARD_UNKNOWN'
  | 'CARD_RESPONSE_MALFORMED'
  | 'CARD_STATUS_ERROR'
  | 'PIN_WRONG'
  | 'PIN_BLOCKED'
  | 'PIN_INVALID_FORMAT'
  | 'PIN_REQUIRED'
  | 'CARD_NEEDS_REGISTRY_SERVICE'
  | 'CARD_CERTIFICATE_MISSING'
  | 'CARD_UNSUPPORTED'
  | 'CARD_REMOVED'
  | 'CARD_TIMEOUT'
  | 'NO_CARD'
  | 'NO_READER'
  | 'READER_NOT_FOUND'
  | 'READER_SERVICE_UNAVAILABLE'
  | 'TRANSPORT_ERROR'
  | 'NATIONAL_CODE_INVALID'
  | 'USAGE'
  | 'IO_ERROR'
  | 'EXTENSION_MISSING'
  | 'EXTENSION_TIMEOUT'
  | 'EXTENSION_BAD_REQUEST'
  | 'EXTENSION_RATE_LIMITED'
  | 'EXTENSION_BUSY'
  | 'EXTENSION_CANCELLED'
  | 'EXTENSION_DISCONNECTED'
  | 'EXTENSION_HOST_MISSING'
  | 'EXTENSION_HOST_VERSION_MISMATCH'
  | 'EXTENSION_HOST_DISCONNECTED'
  | 'EXTENSION_HOST_TIMEOUT'
  | 'EXTENSION_PIN_TIMEOUT'
  | 'EXTENSION_PIN_WINDOW_FAILED'
  | 'USER_CANCELLED'
  | 'HOST_BAD_MESSAGE'
  | 'HOST_MESSAGE_TOO_LARGE'
  | 'HOST_BUSY'
  | 'HOST_CANCELLED'
  | 'PROTOCOL_VERSION_MISMATCH'
  | 'NO_TRANSPORT'
  | 'TRANSPORT_UNAVAILABLE'
  | 'WEBUSB_PROTECTED_CLASS'
  | 'INVALID_ARGUMENT'
  | 'INTERNAL_PANIC'
  | 'INTERNAL_ERROR'
  | 'TRUST_STORE_FREED'
  | 'WASM_UNAVAILABLE'
  | 'NOT_READY'
  | 'NOT_LOGGED_IN'
  | 'CLERK_NOT_AUTHORIZED'
  | 'BAD_REQUEST'
  | 'NETWORK'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'REQUEST_TIMEOUT'
  | 'REQUEST_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'SERVER_BUSY'
  | 'TRUST_FETCH_FAILED'
  | 'TRUST_ANCHOR_NOT_FILE'
  | 'TRUST_ANCHOR_MISSING'
  | 'RECORD_MALFORMED'
  | 'RECORD_TOO_LARGE'
  | 'RECORD_SEAL_INVALID'
  | 'RECORD_UNTRUSTED_TERMINAL'
  | 'RECORD_DISCLOSURE_MISMATCH'
  | 'RECORD_LEVEL_UNSUPPORTED'
  | 'RECORD_PURPOSE_VIOLATION'
  | 'RECORD_PURPOSE_UNKNOWN'
  | 'RECORD_ATTRIBUTE_UNKNOWN'
  | 'RECORD_CONFIG_INVALID'
  | 'RECORD_EVIDENCE_CONFLICT'
  | 'RECORD_CARD_SIGNATURE_INVALID'
  | 'RECORD_SIGNER_FAILED'
  | 'ARCHIVE_DB'
  | 'ARCHIVE_MALFORMED'
  | 'ARCHIVE_RECORD_INVALID'
  | 'ARCHIVE_DUPLICATE'
  | 'ARCHIVE_NOT_FOUND'
  | 'ARCHIVE_ENTRY_ALTERED'
  | 'ARCHIVE_ENTRY_DELETED'
  | 'ARCHIVE_ENTRIES_REORDERED'
  | 'ARCHIVE_LOG_TRUNCATED'
  | 'ARCHIVE_ROOT_MISMATCH'
  | 'ARCHIVE_CHECKPOINT_NOT_EXTENDING'
  | 'ARCHIVE_CHECKPOINT_SIGNATURE_INVALID'
  | 'ARCHIVE_PROOF_INVALID'
  | 'ARCHIVE_PERSONAL_MISMATCH'
  | 'ARCHIVE_KEY_INVALID'
  | 'CMS_MALFORMED'
  | 'CMS_TOO_LARGE'
  | 'CMS_NOT_SIGNED_DATA'
  | 'CMS_NO_SIGNERS'
  | 'CMS_CONTENT_MISSING'
  | 'CMS_CONTENT_CONFLICT'
  | 'CMS_DIGEST_MISMATCH'
  | 'CMS_SIGNER_NOT_FOUND'
  | 'CMS_CONTENT_TYPE_MISMATCH'
  | 'CMS_ATTRIBUTE_INVALID'
  | 'CMS_SIGNING_CERTIFICATE_MISMATCH'
  | 'CMS_SIGNATURE_INVALID'
  | 'CMS_SIGNING_TIME_MISSING'
  | 'DASTINE_NOT_INSTALLED'
  | 'DASTINE_CLOSED'
  | 'DASTINE_VERSION_OUTDATED'
  | 'DASTINE_BAD_REPLY'
  | 'DASTINE_RESPONSE_TIMEOUT'
  | 'DASTINE_UNKNOWN_ERROR'
  | 'DASTINE_CERT_NOT_SELECTED'
  | 'DASTINE_HASH_UNSUPPORTED'
  | 'DASTINE_PIN_TIMEOUT'
  | 'DASTINE_PIN_WRONG'
  | 'DASTINE_CANCELLED'
  | 'DASTINE_PIN_BLOCKED'
  | 'DASTINE_NO_PRIVATE_KEY'
  | 'DASTINE_INPUT_NOT_BASE64'
  | 'DASTINE_CMS_SIGN_FAILED'
  | 'DASTINE_CMS_ATTRIBUTE_INVALID'
  | 'DASTINE_CONFIG_INVALID'
  | 'DASTINE_CONFIG_SIGNATURE_INVALID'
  | 'DASTINE_TOKEN_NOT_AVAILABLE'
  | 'DASTINE_PUK_BLOCKED'
  | 'DASTINE_NOT_AUTHENTICATED'
  | 'DASTINE_NID_SM_SERVER_UNREACHABLE'
  | 'DASTINE_NID_SIGNING_SERVER_UNAVAILABLE'
  | 'DASTINE_NID_CARD_ERROR'
  | 'PDF_MALFORMED'
  | 'PDF_NO_SIGNATURE'
  | 'PDF_MODIFIED_AFTER_SIGNING'
  | 'READER_PROTOCOL_ERROR'
  | 'READER_CHECKSUM_ERROR'
  | 'READER_BUSY'
  | 'READER_COMMAND_FAILED'
  | 'READER_UNSUPPORTED'
  | 'EXTENSION_COOLDOWN'
  | 'EXTENSION_NO_USER_GESTURE'
  | 'EXTENSION_TAB_NOT_ACTIVE'
  | 'EXTENSION_ORIGIN_UNKNOWN'
  | 'EXTENSION_ERROR'
  | 'CONFIG_UNSAFE';

/** Every error hoviat throws. `code` is stable (e.g. "CERT_EXPIRED", "ORIGIN_MISMATCH"). */
export class HoviatError extends Error {
  readonly name: 'HoviatError';
  readonly code: HoviatErrorCode | (string & {});
  /** For NO_TRANSPORT: why each transport was not used. */
  readonly reasons?: Record<string, string>;
}

/** A certificate or CRL: PEM text (one or more blocks) or DER bytes. */
export type PkiInput = string | Uint8Array;

export interface VerifyOptions {
  /** The site's origin exactly as the browser reports it: https://host[:port], no path. */
  origin: string;
  /** The challenge this server issued (and has already checked is fresh and unused). */
  nonce: string;
  /**
   * The trust anchors (root or issuing CAs); or give `trust` instead. Given as PEM text, the
   * anchors, intermediates and CRLs are parsed once per distinct text and kept (up to 8 sets),
   * as a `TrustStore` would keep them.
   */
  trustAnchors?: PkiInput[] | PkiInput;
  /** Anchors, intermediates and CRLs parsed once (a server or page verifying many tokens). */
  trust?: TrustStore;
  /** Intermediate CAs to build the path through. */
  intermediates?: PkiInput[] | PkiInput;
  /**
   * CRLs of the CAs; a CRL that does not verify is an error. In a browser, a verification with
   * CRLs or OCSP responses runs in the full module (`web/core.wasm`, fetched on first use).
   */
  crls?: PkiInput[] | PkiInput;
  /** Validation time: RFC 3339 string, Date or milliseconds. Default: now. */
  at?: string | Date | number;
  /** Refuse with REVOCATION_UNKNOWN when no CRL covers the holder's certificate. */
  requireRevocation?: boolean;
  /** Accept SHA-1 signatures on certificates and CRLs (legacy chains only). */
  allowSha1?: boolean;
  /**
   * OCSP responses about the holder's certificate (DER bytes or base64), fetched by the server
   * from the responder in the certificate's AIA or stapled. A good response makes the
   * revocation source 'ocsp'; revoked is CERT_REVOKED, unknown OCSP_CERT_UNKNOWN; a response
   * that does not verify is its OCSP_* code; responses that name another certificate are
   * OCSP_CERT_ID_MISMATCH.
   */
  ocspResponses?: PkiInput[] | PkiInput;
  /** The nonce the server sent in its OCSP request (bytes or base64): the response must echo it. */
  ocspNonce?: string | Uint8Array;
  /** Clock skew tolerated on thisUpdate/nextUpdate, seconds (default 300). */
  ocspSkewSeconds?: number;
  /** Which cryptography discharges the signature checks (default: node in Node, webcrypto in browsers). */
  backend?: 'node' | 'webcrypto' | 'wasm';
  /**
   * Backend 'node' only: when a verification needs two or more P-384/P-521 checks (~0.5 ms each
   * in Node 20), all but one run on libuv's thread pool while the calling thread does the rest,
   * so the answer comes about one slow check sooner for the same CPU time plus a thread hop.
   * Default true; false keeps every check on the calling thread.
   */
  parallel?: boolean;
}

export interface Holder {
  subject: string;
  commonName: string | null;
  surname: string | null;
  givenName: string | null;
  /** Only when the certificate's serialNumber carries a national code whose check digit passes. */
  nationalCode: string | null;
  serialNumber: string | null;
  country: string | null;
  cardReference: string | null;
  /** Every subject attribute in order: [type, value]. */
  attributes: [string, string][];
}

export interface CertificateSummary {
  serialNumber: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  key: string;
  sha256: string;
}

export interface VerifiedIdentity {
  holder: Holder;
  certificate: CertificateSummary;
  /** Subjects of the validated path, holder first, trust anchor last. */
  chain: string[];
  algorithm: 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512';
  origin: string;
  assurance: { level: 'holder-signature'; revocation: 'crl' | 'ocsp' | 'not-checked'; statement: string };
  /** How revocation was checked: the source's thisUpdate and nextUpdate (RFC 3339; null when
   * the source gives none), or not at all. */
  revocation:
    | { status: 'good'; source: 'crl' | 'ocsp'; thisUpdate: string; nextUpdate: string | null }
    | { status: 'not-checked' };
}

/**
 * Trust anchors, intermediates and CRLs parsed once, for many verifications
 * (`verifyToken(token, { origin, nonce, trust })`). Throws HoviatError on bad input (in a browser
 * before the module has loaded, at the first verification instead).
 */
export class TrustStore {
  constructor(options: { trustAnchors: PkiInput[] | PkiInput; intermediates?: PkiInput[] | PkiInput; crls?: PkiInput[] | PkiInput });
  /** Releases the parsed copies now (otherwise when the object is garbage-collected). */
  free(): void;
}

/** Verifies a web-eid:1.x token; throws HoviatError with a stable code. */
export function verifyToken(token: string | WebEidToken, options: VerifyOptions): Promise<VerifiedIdentity>;

/** A fresh challenge: 32 random bytes, base64. */
export function createNonce(): string;

/** Options of verifySignature: the trust and policy options of verifyToken, without origin and nonce. */
export interface SignatureVerifyOptions extends Omit<VerifyOptions, 'origin' | 'nonce'> {
  /** The signed bytes, for a detached signature (a string is its UTF-8 bytes). For an attached
   * one it may be given too, and must then equal the attached content (CMS_CONTENT_CONFLICT). */
  content?: Uint8Array | ArrayBuffer | string;
  /** Certificates to find signers and intermediates in, besides those in the message. */
  certificates?: PkiInput[] | PkiInput;
  /** Accept SHA-1 (signature digest and certificates) for legacy documents: Dastine's CmsSign
   * defaults to SHA-1. Default false: ALGORITHM_DISALLOWED. The result then says legacySha1. */
  allowSha1?: boolean;
  /** Validate each signer's path as of its claimed signingTime (the signer's unauthenticated
   * claim; the verdict at `at` is reported beside it). No signingTime: CMS_SIGNING_TIME_MISSING. */
  atSigningTime?: boolean;
  /** Extended key usage the signer certificates must have: a purpose name or a dotted OID. */
  eku?: string;
}

/** One verified signer of a CMS message. */
export interface VerifiedSigner {
  index: number;
  signerId: string;
  certificate: CertificateSummary;
  holder: Holder;
  /** Subjects of the validated path, signer first, anchor last. */
  chain: string[];
  revocation: VerifiedIdentity['revocation'];
  digestAlgorithm: string;
  signatureAlgorithm: string;
  signedAttributes: boolean;
  /** signingTime: the signer's claim, never authenticated. */
  signingTime: { time: string; authenticated: false; withinCertificateValidity: boolean } | null;
  signingCertificate: { version: 1 | 2; hash: string; matches: boolean } | null;
  validationTime: string;
  validationTimeSource: 'given' | 'claimed-signing-time';
  atGivenTime?: { at: string; valid: boolean; code?: HoviatErrorCode; message?: string };
  legacySha1: boolean;
}

/** A verified CMS SignedData: the object `hoviat verify-signature` prints. */
export interface VerifiedSignature {
  verified: true;
  contentType: string;
  contentAttached: boolean;
  contentLength: number;
  signers: VerifiedSigner[];
  /** Some signer relied on SHA-1, accepted only because allowSha1 was given. */
  legacySha1: boolean;
  sha1Allowed: boolean;
  validationTime: string;
  statement: string;
}

/**
 * Verifies a CMS (PKCS#7) SignedData, attached or detached — what Dastine's CmsSign returns
 * and portals collect — with the same verdicts and codes as `hoviat verify-signature`.
 * `cms`: DER bytes, or base64 / PEM text. Throws HoviatError (CMS_*, CERT_*, ALGORITHM_*, ...).
 */
export function verifySignature(cms: Uint8Array | ArrayBuffer | string, options: SignatureVerifyOptions): Promise<VerifiedSignature>;

/** Single-use, expiring challenges for one server process. */
export class NonceStore {
  constructor(options?: { ttlSeconds?: number; capacity?: number });
  /** Issues a challenge. */
  issue(): string;
  /** Consumes it; throws NONCE_UNKNOWN, NONCE_EXPIRED or NONCE_REPLAYED. */
  consume(nonce: string): void;
}

export const nationalCode: {
  validate(code: string):
    | { valid: true; nationalCode: string }
    | { valid: false; code: 'NATIONAL_CODE_INVALID'; message: string };
};

export interface WebEidToken {
  format: string;
  unverifiedCertificate: string;
  algorithm: string;
  signature: string;
  appVersion?: string;
  unverifiedOrigin?: string;
}

export type CardStatus =
  | 'detecting-card' | 'reading-certificate' | 'reading-pin-state' | 'waiting-for-pin'
  | 'verifying-pin' | 'signing' | 'done';

export type PinState =
  | { state: 'verified' } | { state: 'triesLeft'; triesLeft: number } | { state: 'blocked' } | { state: 'unknown' };

export interface CardInfo {
  profile: 'piv' | 'ir-nid';
  atr: string;
  certificates: { slot: string; subject: string; issuer: string; serialNumber: string; notAfter: string; der: string }[];
  pins: ({ name: 'piv' | 'id' | 'sign'; note?: string } & PinState)[];
  cardSerial: string | null;
  /** holder-signature, or certificate-only when the card cannot sign without the registry. */
  assurance: 'holder-signature' | 'certificate-only';
  traffic: { apdus: number; bytesOut: number; bytesIn: number };
}

/** What any page may learn from the extension without asking the user: whether a card is in. */
export interface CardPresence {
  cardPresent: boolean;
}

/** The card's details after the user agreed to share them in the extension's window. */
export interface SharedCardInfo extends CardInfo {
  cardPresent: true;
  /** The reader the user chose. */
  reader: string;
}

export interface ConnectOptions {
  /** auto (default) picks the best available transport and says why others are unavailable. */
  transport?: 'auto' | 'virtual' | 'extension' | 'dastine' | 'webusb' | 'webserial' | 'smartcard';
  /** Options of the Dastine transport (transport 'dastine'). */
  dastine?: DastineOptions;
  /** Progress while the card works. */
  onStatus?: (status: CardStatus) => void;
  /** Options of the virtual card (test equipment). */
  virtual?: { profile?: 'piv' | 'ir-nid'; holder?: number; seed?: string; at?: string | Date | number; removeAfter?: number };
  /** How long to wait for the browser extension (ms); for the direct transports, for each read from the reader (default 5000: CARD_TIMEOUT). */
  timeoutMs?: number;
  /** Direct transports: cancels connecting and card operations (USER_CANCELLED). An AbortSignal. */
  signal?: { readonly aborted: boolean; addEventListener(type: 'abort', f: () => void): void; removeEventListener(type: 'abort', f: () => void): void };
  /** Direct transports: called once the card is powered and after each APDU. */
  onProgress?: (progress: DirectProgress) => void;
  /** Transport 'webserial': the reader's framing ('auto' tries the GemPC Twin, then the PN532); `port` skips the chooser (a SerialPort from getPorts()). */
  webSerial?: { reader?: 'auto' | 'gempc-twin' | 'pn532'; port?: unknown; filters?: object[]; baudRate?: number; probeTimeoutMs?: number };
  /** Transport 'webusb': `device` skips the chooser (a USBDevice from getDevices()); chooser filters default to classes 0x0B and 0xFF. */
  webUsb?: { device?: unknown; filters?: object[] };
  /** Transport 'smartcard' (navigator.smartCard): the reader's name (default: the first holding a card). */
  smartCard?: { reader?: string };
}

/** Progress of a direct transport (webserial, webusb, smartcard). */
export interface DirectProgress {
  transport: 'webserial' | 'webusb' | 'smartcard';
  stage: 'card-ready' | 'apdu';
  /** APDUs so far on this connection. */
  apdus: number;
  /** Bytes written to and read from the reader so far (the reader link: framing included). */
  bytesOut: number;
  bytesIn: number;
}

/** APDUs and bytes exchanged with the card by one operation. */
export interface Traffic { apdus: number; bytesOut: number; bytesIn: number }

/**
 * A card reached directly from the page (transports 'webserial', 'webusb', 'smartcard'): the
 * reader protocols and the card dialogue run in hoviat's WebAssembly module; the PIN is given
 * by the page. USER_CANCELLED when a chooser is cancelled or `signal` aborts, CARD_TIMEOUT when
 * the reader does not answer within `timeoutMs`: on webserial and webusb the reader is
 * resynchronised first and the same card object keeps working. CARD_REMOVED when the card leaves mid-operation, TRANSPORT_ERROR
 * when the reader did not recover (connect again then).
 */
export interface DirectCard extends Card {
  readonly transport: 'webserial' | 'webusb' | 'smartcard';
  /** The reader: `{ kind: 'gempc-twin' | 'pn532' | 'usb-ccid' | 'smartcard', ... }` (PN532: the target's UID, ATQA, SAK, ATS). */
  readonly reader: { kind: string; [k: string]: unknown };
  /** The card's ATR, hex (PN532: built from the ATS). */
  readonly atr: string;
  info(options?: { share?: boolean }): Promise<CardInfo>;
  authenticate(args: { nonce: string; pin?: string; origin?: string; signal?: ConnectOptions['signal'] }): Promise<{ token: WebEidToken; origin: string; traffic: Traffic }>;
  /** VERIFY a PIN: 'piv' on a PIV card, 'id' or 'sign' on the Iranian card (PIN_WRONG with the tries left, PIN_BLOCKED). */
  verifyPin(args: { kind: 'piv' | 'id' | 'sign'; pin: string; signal?: ConnectOptions['signal'] }): Promise<{ pinVerified: true; pinKind: string; traffic: Traffic }>;
  /** Reader-link totals of this connection. */
  traffic(): Traffic;
  /** Releases the port or device. */
  close(): Promise<void>;
}

/** The virtual card's test registry: the anchors, intermediates and CRLs that verify its tokens. */
export interface TestRegistry {
  trustAnchors: string[];
  intermediates: string[];
  crls: string[];
  /** An OCSP response about this card's certificate, signed by its CA (DER). */
  ocspResponse(status?: 'good' | 'revoked' | 'unknown', options?: { nonce?: Uint8Array; thisUpdate?: string | Date | number; nextUpdate?: string | Date | number }): Uint8Array;
}

export interface Card {
  readonly transport: 'virtual' | 'extension' | 'dastine' | 'webusb' | 'webserial' | 'smartcard';
  /** Why other transports were not chosen (auto). */
  readonly unavailable: Record<string, string>;
  /** The virtual card's test registry, to verify its tokens (transport 'virtual' only). */
  readonly testRegistry?: TestRegistry;
  /**
   * Transport 'extension': without `share`, only whether a card is inserted (no window, nothing
   * about the card or its holder). With `share: true` — call it from a user action in the
   * visible page — the extension's window shows this origin and what it will receive, and the
   * details come only if the user allows (USER_CANCELLED otherwise; EXTENSION_NO_USER_GESTURE,
   * EXTENSION_TAB_NOT_ACTIVE, EXTENSION_COOLDOWN when the window may not open). Transport
   * 'virtual' (test equipment) always gives the details.
   */
  info(): Promise<CardInfo | CardPresence>;
  info(options: { share: true }): Promise<CardInfo | SharedCardInfo>;
  info(options: { share?: boolean }): Promise<CardInfo | SharedCardInfo | CardPresence>;
  /**
   * Runs the card's challenge-response; `origin` defaults to the page's origin. Transport
   * 'extension': call it from a user action in the visible, focused page; the PIN is typed
   * in the extension's window (`pin` and `origin` are ignored there: the browser gives the
   * origin).
   */
  authenticate(args: { nonce: string; pin?: string; origin?: string }): Promise<{ token: WebEidToken; origin: string }>;
}

/**
 * The vendor middleware Dastine, on the loopback (ws://127.0.0.1:51356/dastine from http pages,
 * wss://localhost.dastine.pki.co.ir:51357/dastine from https pages). Commands go one at a time.
 */
export interface DastineOptions {
  /** The site's own licensed <Configuration> XML, signed by the vendor, sent by SetConfig as
   * given (hoviat never makes one). A refused one is DASTINE_CONFIG_SIGNATURE_INVALID or DASTINE_CONFIG_INVALID. */
  config?: string;
  /** Replaces the service's URL (test equipment, or a site-specific install). */
  url?: string;
  /** The service's port for http pages (default 51356), as DastineSetPort. */
  port?: number;
  /** The service's port for https pages (default 51357). */
  sslPort?: number;
  /** Connection tries before DASTINE_NOT_INSTALLED (default 5), retryDelayMs apart (default 10000). */
  retries?: number;
  retryDelayMs?: number;
  /** How long to wait for one command's answer before DASTINE_RESPONSE_TIMEOUT (default 120000 ms). */
  timeoutMs?: number;
  /** DastineIsAlive every so many ms (default 60000; 0: never). */
  keepAliveMs?: number;
  /** The oldest Dastine version the site accepts: an older one is DASTINE_VERSION_OUTDATED. */
  minVersion?: string;
  /** A WebSocket constructor where there is no global one (Node before 22). */
  WebSocket?: unknown;
}

/** A Dastine session (transport 'dastine'): the card signs through the middleware. */
export interface DastineCard extends Card {
  readonly transport: 'dastine';
  /** NIDAuthenticateByPIN: Dastine's window asks for the card's PIN. */
  authenticateByPin(options?: { cardReader?: string; timeoutMs?: number }): Promise<void>;
  /** Selects the signing certificate (by thumbprint, by subject, or in Dastine's window) and returns it (base64 DER). */
  selectCertificate(options?: { from?: 'token' | 'windows'; issuer?: string; keyUsages?: string; subjectDn?: string; thumbprint?: string; hashAlg?: string; timeoutMs?: number }): Promise<string>;
  /** The selected certificate, base64 DER. */
  selectedCertificate(): Promise<string>;
  /** CmsSign: a CMS SignedData (base64) over `data` (a string is its UTF-8 bytes); attach defaults to true, hash to SHA256. */
  cmsSign(data: string | Uint8Array | ArrayBuffer, options?: { attach?: boolean; hash?: 'SHA1' | 'SHA256' | 'SHA384' | 'SHA512'; timeoutMs?: number }): Promise<string>;
  /** NIDSign: the card signs through the registry's signing server; Dastine's Result (base64) as is. */
  nidSign(data: string | Uint8Array | ArrayBuffer, options?: { cardReader?: string; timeoutMs?: number }): Promise<string>;
  /** Closes the connection. */
  close(): void;
}

/**
 * Connects to a card: the browser extension ('extension'), the Dastine middleware ('dastine'), a
 * reader reached directly ('webserial', 'webusb', 'smartcard': DirectCard), or 'auto' (the Web
 * Smart Card API where it exists, else the extension, else a serial port or USB reader the site
 * was already granted; NO_TRANSPORT with `reasons` otherwise). The virtual card
 * (test equipment) is not in this entry: `import { connect } from 'hoviat/virtual'`; here
 * transport 'virtual' throws TRANSPORT_UNAVAILABLE.
 */
export function connect(options: ConnectOptions & { transport: 'dastine' }): Promise<DastineCard>;
export function connect(options: ConnectOptions & { transport: 'webusb' | 'webserial' | 'smartcard' }): Promise<DirectCard>;
export function connect(options?: ConnectOptions): Promise<Card>;

/** What `init` accepts instead of the packaged wasm file. */
export type WasmSource =
  | ArrayBuffer | ArrayBufferView // the bytes
  | string | { readonly href: string } // a URL
  | { arrayBuffer(): Promise<ArrayBuffer> } | PromiseLike<{ arrayBuffer(): Promise<ArrayBuffer> }> // a Response
  | object; // a WebAssembly.Module (typed structurally: no DOM or Node types needed)

/**
 * Loads the WebAssembly module now; otherwise the first call does (nothing loads at import
 * time). In a browser, await it (or any async function) before the synchronous ones
 * (createNonce, NonceStore, nationalCode.validate): they throw NOT_READY until then. `wasm`
 * replaces the packaged file (e.g. bytes in a server bundle that does not ship node_modules).
 * A module that cannot be fetched or compiled (a CSP without 'wasm-unsafe-eval', a 404) is
 * WASM_UNAVAILABLE.
 */
export function init(options?: { wasm?: WasmSource }): Promise<void>;

/** The package version. */
export const version: string;

/** The signature backend verifyToken uses when `backend` is not given: 'node' in Node, 'webcrypto' in browsers. */
export const defaultBackend: 'node' | 'webcrypto';

/** For the package's own tests: panics inside the module (INTERNAL_PANIC); the next call recovers. */
export function __panicForTest(): never;

// ---- Identity records (SD-JWT VC; issue 17): makeRecord, verifyRecord, disclose ----

/** Certificates: PEM text (one or more blocks), base64 DER text, or DER bytes. */
export type CertificateInput = string | Uint8Array;

/** An institution's configuration: its purposes, each with the attributes it may disclose. */
export interface InstitutionConfig {
  id: string;
  name: { fa: string; en: string };
  purposes: Array<{ id: string; label: { fa: string; en: string }; attributes: RecordAttributeName[] }>;
}

export type RecordAttributeName =
  | 'given_name' | 'family_name' | 'national_code' | 'card_reference' | 'face_match'
  | 'card_issue_date' | 'card_expiry_date' | 'holder_certificate';
export type RecordLevel = 'certificate' | 'card-pin' | 'card-signature' | 'registry-assisted';
export type Provenance = 'chip-certificate' | 'chip-file' | 'operator' | 'registry';

/** What the terminal read from the card (as `hoviat record make --facts`). */
export interface CardFacts {
  /** The holder's certificate, base64 DER. */
  holderCertificate: string;
  /** Intermediate certificates, base64 DER. */
  intermediates?: string[];
  chipType: string;
  cardSerial?: string;
  cardReference?: string;
  /** `YYYY-MM-DD` (Gregorian). */
  issueDate?: string;
  expiryDate?: string;
  /** What the chip answered to the holder's ID PIN at this terminal. */
  pin: 'not-tried' | 'accepted' | 'rejected' | 'blocked';
}

/**
 * A WebCrypto ECDSA P-256 private CryptoKey (non-extractable is fine), a function signing the
 * bytes it is given (raw r||s, 64 bytes), or in Node a KeyObject or PKCS#8 PEM. Typed loosely so
 * that the declarations need neither the DOM nor Node's types.
 */
export type TerminalKey = object | string | ((data: Uint8Array) => Promise<Uint8Array | ArrayBuffer> | Uint8Array | ArrayBuffer);

export interface MakeRecordOptions {
  institution: InstitutionConfig | string;
  purpose: string;
  terminal: string;
  operator: string;
  card: CardFacts;
  operatorInput?: { nationalCode?: string; faceMatch?: boolean };
  /** The registry the holder's certificate must chain to. */
  registry: { trustAnchors: CertificateInput[]; intermediates?: CertificateInput[]; crls?: CertificateInput[] };
  /** The terminal's certificate chain (terminal first): its `x5c`. */
  terminalChain: CertificateInput[];
  /**
   * The terminal's ES256 key: a WebCrypto ECDSA P-256 private CryptoKey (non-extractable is
   * fine), a function signing the bytes it is given (raw r||s, 64 bytes), or in Node a
   * KeyObject or PKCS#8 PEM.
   */
  terminalKey: TerminalKey;
  /** The record's time (default now). */
  at?: string | Date | number;
  /** Decoy digests (0-16, default 2). */
  decoys?: number;
}

export interface MadeRecord {
  /** `<JWT>~<D1>~...~<Dn>~` */
  record: string;
  /** Computed from the evidence. */
  level: RecordLevel;
  /** Requested attributes nobody provided. */
  missing: RecordAttributeName[];
  issuedAt: string;
}

export interface VerifiedRecord {
  vct: string;
  institution: string;
  terminal: string;
  terminalCertificate: string;
  operator: string;
  purpose: string;
  requested: RecordAttributeName[];
  issuedAt: string;
  level: RecordLevel;
  eidas: string;
  evidence: Record<string, unknown>;
  cardSignatureVerified: boolean;
  /**
   * How the card's signature was made when it is a CMS: `'registry-assisted'` (through the
   * registry's secure session, Dastine's NIDSign; the CMS is kept without its certificates).
   * `null` for a raw card signature (PIV) or none.
   */
  cardSignatureRoute: 'registry-assisted' | null;
  attributes: Array<{ name: RecordAttributeName; value: unknown; provenance: Provenance }>;
  undisclosed: number;
}

/** Makes and seals a record (as `hoviat record make`). Errors: RECORD_*, CERT_*, NATIONAL_CODE_INVALID. */
export function makeRecord(options: MakeRecordOptions): Promise<MadeRecord>;
/** Verifies a record or a presentation (as `hoviat record verify`). */
export function verifyRecord(
  record: string,
  options: { institutionCa: CertificateInput[]; at?: string | Date | number; institution?: InstitutionConfig | string },
): Promise<VerifiedRecord>;
/** A presentation holding only the named attributes (as `hoviat record disclose`). */
export function disclose(record: string, attributes: RecordAttributeName[]): Promise<string>;
