/** The issuer's private keys at rest: PKCS#8 PEM sealed with the issuer passphrase (scrypt + AEAD, `identity/seal.ts`). */
import { privateKeyFromPem, privateKeyToPem } from '../core/keys.ts'
import { seal, unseal } from '../identity/seal.ts'
import type { Ed25519KeyPair } from '../core/keys.ts'

const SEAL_LABEL = 'tempus-mesh issuer key v1'

export async function sealKey (passphrase: string, key: Ed25519KeyPair, scryptN?: number): Promise<string> {
  return JSON.stringify(await seal(passphrase, SEAL_LABEL, Buffer.from(privateKeyToPem(key.privateKey)), scryptN))
}

/** throws on a wrong passphrase or a damaged box */
export async function unsealKey (passphrase: string, sealed: string): Promise<Ed25519KeyPair> {
  return privateKeyFromPem(Buffer.from(await unseal(passphrase, SEAL_LABEL, JSON.parse(sealed))).toString())
}
