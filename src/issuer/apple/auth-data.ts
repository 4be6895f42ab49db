/**
 * WebAuthn authenticator data as App Attest fills it (bounded reads):
 * rpIdHash (32) ‖ flags (1) ‖ counter (4, big-endian) ‖ aaguid (16) ‖
 * credential id length (2) ‖ credential id ‖ the COSE key (not read: the
 * credential certificate carries the key).
 */
import { AUTH_DATA_MIN_BYTES } from './constants.ts'
import { AppAttestRefusal } from './errors.ts'

export interface AuthData {
  rpIdHash: Uint8Array
  flags: number
  counter: number
  aaguid: Uint8Array
  credentialId: Uint8Array
}

export function parseAuthData (bytes: Uint8Array): AuthData {
  if (bytes.length < AUTH_DATA_MIN_BYTES) {
    throw new AppAttestRefusal('malformed-evidence', 'authData is too short')
  }
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const idLength = view.readUInt16BE(53)
  if (idLength > bytes.length - AUTH_DATA_MIN_BYTES) {
    throw new AppAttestRefusal('malformed-evidence', 'authData\'s credential id runs past its end')
  }
  return {
    rpIdHash: bytes.subarray(0, 32),
    flags: bytes[32] as number,
    counter: view.readUInt32BE(33),
    aaguid: bytes.subarray(37, 53),
    credentialId: bytes.subarray(55, 55 + idLength)
  }
}
