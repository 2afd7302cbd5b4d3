/** hoviat/virtual: the virtual card (test equipment), in its own entry and its own wasm. */
import type { Card, ConnectOptions, TestRegistry, WasmSource } from './index.js';

/** A card on the virtual transport: its test registry is always there. */
export interface VirtualCardConnection extends Card {
  readonly transport: 'virtual';
  readonly testRegistry: TestRegistry;
}

/** connect() with the virtual transport available (the other transports as in 'hoviat'). */
export function connect(options: ConnectOptions & { transport: 'virtual' }): Promise<VirtualCardConnection>;
export function connect(options?: ConnectOptions): Promise<Card>;

/** Loads the test-kit module now (a browser needs it before `new VirtualCard()`). */
export function init(options?: { wasm?: WasmSource }): Promise<void>;

/** The virtual card itself: a PIV or Iranian card backed by a light test registry. */
export interface VirtualCard {
  readonly profile: string;
  trustAnchors(): string[];
  intermediates(): string[];
  crls(): string[];
  /** An OCSP response about this card's certificate, signed by its issuing CA (DER). */
  ocspResponse(status?: 'good' | 'revoked' | 'unknown', options?: { nonce?: Uint8Array; thisUpdate?: string | Date | number; nextUpdate?: string | Date | number }): Uint8Array;
  /**
   * What the registry's secure session has this card sign (test equipment, for a fake Dastine):
   * a CMS SignedData (DER) over `data` with the card's signing key and certificate.
   */
  registrySign(data: Uint8Array, options?: { hash?: 'SHA1' | 'SHA256' | 'SHA384' | 'SHA512'; attach?: boolean }): Uint8Array;
  info(onStatus?: (status: string) => void): unknown;
  authenticate(origin: string, nonce: string, pin?: string, onStatus?: (status: string) => void): unknown;
  free(): void;
}
export const VirtualCard: {
  new (options?: { profile?: 'piv' | 'ir-nid'; holder?: number; seed?: string; at?: string | Date | number; removeAfter?: number; layout?: 'iran' }): VirtualCard;
};
