/**
 * Reading TPM evidence (the enrolment's `attestation` string, JSON of
 * `TpmEvidence` in `src/issuer-client/tpm-wire.ts`): every field base64url
 * (hex for PCR values), each with a size bound, unknown fields refused.
 */
import { TpmDecodeError } from './decode.ts'
import { BANK_IDS, MAX_PCR_INDEX } from './pcr-policy.ts'
import { HASH_SIZES } from './decode.ts'

/** largest evidence string the issuer takes (and its HTTP schema allows) */
export const MAX_TPM_EVIDENCE = 12_288
export const MAX_EK_CERTIFICATE_B64 = 4096
export const MAX_STRUCTURE_B64 = 1400

/** bytes of a base64url field, or a TpmDecodeError naming it */
export function field64 (value: unknown, field: string, max: number): Uint8Array {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !/^[A-Za-z0-9_-]+$/.test(value)) {
    throw new TpmDecodeError(field, `must be base64url of at most ${max} characters`)
  }
  return new Uint8Array(Buffer.from(value, 'base64url'))
}

export interface DecodedEvidence {
  ekCertificate: Uint8Array
  akPublic: Uint8Array
  quote: Uint8Array
  signature: Uint8Array
  /** bank id → index → value */
  pcrs: Map<number, Map<number, Uint8Array>>
}

/** the evidence string's fields as bytes, or a TpmDecodeError naming the first bad one */
export function parseEvidence (evidence: unknown): DecodedEvidence {
  if (typeof evidence !== 'string' || evidence.length > MAX_TPM_EVIDENCE) {
    throw new TpmDecodeError('evidence', `must be a JSON string of at most ${MAX_TPM_EVIDENCE} characters`)
  }
  let json: any
  try {
    json = JSON.parse(evidence)
  } catch {
    throw new TpmDecodeError('evidence', 'is not JSON')
  }
  if (json == null || typeof json !== 'object' || Array.isArray(json) || json.v !== 1) {
    throw new TpmDecodeError('evidence.v', 'must be an object of version 1')
  }
  const extra = Object.keys(json).filter(k => !['v', 'ekCertificate', 'akPublic', 'quote', 'signature', 'pcrs'].includes(k))
  if (extra.length > 0) {
    throw new TpmDecodeError(`evidence.${extra[0] ?? ''}`, 'is not a field of TPM evidence')
  }
  return {
    ekCertificate: field64(json.ekCertificate, 'evidence.ekCertificate', MAX_EK_CERTIFICATE_B64),
    akPublic: field64(json.akPublic, 'evidence.akPublic', MAX_STRUCTURE_B64),
    quote: field64(json.quote, 'evidence.quote', MAX_STRUCTURE_B64),
    signature: field64(json.signature, 'evidence.signature', MAX_STRUCTURE_B64),
    pcrs: parsePcrValues(json.pcrs)
  }
}

function parsePcrValues (pcrs: unknown): Map<number, Map<number, Uint8Array>> {
  if (pcrs == null || typeof pcrs !== 'object' || Array.isArray(pcrs)) {
    throw new TpmDecodeError('evidence.pcrs', 'must map bank names to { index: hex }')
  }
  const out = new Map<number, Map<number, Uint8Array>>()
  for (const [bank, values] of Object.entries(pcrs)) {
    const id = BANK_IDS.get(bank)
    const size = id == null ? undefined : HASH_SIZES.get(id)?.size
    if (id == null || size == null || values == null || typeof values !== 'object' || Array.isArray(values)) {
      throw new TpmDecodeError(`evidence.pcrs.${bank}`, 'is not a known bank of { index: hex }')
    }
    const map = new Map<number, Uint8Array>()
    for (const [index, hex] of Object.entries(values)) {
      if (!/^(0|[1-9][0-9]?)$/.test(index) || Number(index) > MAX_PCR_INDEX || typeof hex !== 'string' || hex.length !== size * 2 || !/^[0-9a-f]+$/i.test(hex)) {
        throw new TpmDecodeError(`evidence.pcrs.${bank}.${index}`, `must be a PCR index 0–${MAX_PCR_INDEX} with ${size * 2} hex digits`)
      }
      map.set(Number(index), new Uint8Array(Buffer.from(hex, 'hex')))
    }
    out.set(id, map)
  }
  return out
}
