/** The virtual card (test equipment): a PIV or Iranian card backed by a light test registry. */
export class VirtualCard {
  constructor(options?: { profile?: 'piv' | 'ir-nid'; holder?: number; seed?: string; at?: string | Date | number; removeAfter?: number });
  readonly profile: string;
  trustAnchors(): string[];
  intermediates(): string[];
  crls(): string[];
  /** An OCSP response about this card's certificate, signed by its issuing CA (DER). */
  ocspResponse(status?: 'good' | 'revoked' | 'unknown', options?: { nonce?: Uint8Array; thisUpdate?: string | Date | number; nextUpdate?: string | Date | number }): Uint8Array;
  info(onStatus?: (status: string) => void): unknown;
  authenticate(origin: string, nonce: string, pin?: string, onStatus?: (status: string) => void): unknown;
  free(): void;
}
