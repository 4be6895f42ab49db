/**
 * Android key attestation: the extension's OID, and the bounds on what a
 * node may send. Real chains (leaf, the device's attestation key, one or two
 * intermediates, Google's root) hold 3 to 5 certificates of under 2 KiB each;
 * the bounds leave room for that and refuse anything far beyond it before a
 * byte of ASN.1 is parsed.
 */

/** id-ce-keyDescription: the key attestation extension in the leaf */
export const KEY_DESCRIPTION_OID = '1.3.6.1.4.1.11129.2.1.17'

/** most certificates in one chain (leaf first; the root may or may not be included) */
export const MAX_CHAIN_CERTIFICATES = 6

/** largest DER certificate accepted */
export const MAX_CERTIFICATE_BYTES = 4096

/**
 * Largest evidence string (JSON text): 6 × 4 KiB of DER in base64url would
 * be 32 KiB, more than the issuer's 16 KiB request body; 12 KiB of evidence
 * fits the body and carries any real chain (about 5 KiB of base64url).
 */
export const MAX_EVIDENCE_CHARS = 12 * 1024

/** largest policy or revocation-list file the issuer reads (Google's status list is about 100 KiB today) */
export const MAX_CONFIG_FILE_BYTES = 8 * 1024 * 1024

/** KeyMint's `origin` tag value for a key generated inside the secure hardware (not imported) */
export const KEY_ORIGIN_GENERATED = 0
