/**
 * Apple App Attest: the credential certificate's nonce extension, the
 * AAGUIDs of Apple's two environments, and the bounds on what a node may
 * send. A real attestation object (two certificates, authenticator data, a
 * receipt of a few KiB) is 5 to 6 KiB: 9 KiB once base64url.
 */

/** the credential certificate's extension holding SEQUENCE { [1] EXPLICIT OCTET STRING nonce } */
export const NONCE_OID = '1.2.840.113635.100.8.2'

/** `appattest` followed by seven 0x00: keys attested in production */
export const AAGUID_PRODUCTION = new Uint8Array([...Buffer.from('appattest'), 0, 0, 0, 0, 0, 0, 0])

/** `appattestdevelop`: keys of apps signed for development */
export const AAGUID_DEVELOPMENT = new Uint8Array(Buffer.from('appattestdevelop'))

/** largest evidence string (JSON text); it must also fit the issuer's 12 KiB `attestation` field */
export const MAX_EVIDENCE_CHARS = 12 * 1024

/** certificates in `x5c`: Apple sends the credential certificate and one intermediate */
export const MAX_X5C = 4

/** largest DER certificate */
export const MAX_CERTIFICATE_BYTES = 4096

/** authenticator data: rpIdHash 32, flags 1, counter 4, aaguid 16, credential id length 2, id, COSE key */
export const AUTH_DATA_MIN_BYTES = 32 + 1 + 4 + 16 + 2
