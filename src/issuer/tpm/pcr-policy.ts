/**
 * The issuer's PCR policy (`tempus issuer start --tpm-pcr-policy FILE`):
 * the PCR values a node's TPM must quote, by bank, e.g.
 *   { "sha256": { "0": "3d45…", "7": "65ca…" } }
 * Every PCR named must be in the quote's selection, and the value the quote
 * covers must equal the one here. An empty policy asks for no PCR.
 */
import { ConfigError } from '../../core/config-error.ts'
import { HASH_SIZES } from './decode.ts'

/** bank id (TPM_ALG_ID) → PCR index → expected value */
export type PcrPolicy = ReadonlyMap<number, ReadonlyMap<number, Uint8Array>>

/** PCR indexes 0–23: the PC Client platform's PCRs */
export const MAX_PCR_INDEX = 23

export const BANK_IDS: ReadonlyMap<string, number> = new Map([...HASH_SIZES].map(([id, h]) => [h.name, id]))

/** a policy from its JSON text, or a ConfigError naming the field and what is expected */
export function parsePcrPolicy (text: string, source = 'the PCR policy'): PcrPolicy {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new ConfigError(`${source} is not JSON; expected { "sha256": { "0": "<64 hex digits>", … } }`)
  }
  if (json == null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigError(`${source} must be an object of banks, e.g. { "sha256": { "7": "<64 hex digits>" } }`)
  }
  const policy = new Map<number, Map<number, Uint8Array>>()
  for (const [bank, pcrs] of Object.entries(json)) {
    const id = BANK_IDS.get(bank)
    const size = id == null ? undefined : HASH_SIZES.get(id)?.size
    if (id == null || size == null) {
      throw new ConfigError(`${source}: bank "${bank}" is not one of ${[...BANK_IDS.keys()].join(', ')}`, bank)
    }
    if (pcrs == null || typeof pcrs !== 'object' || Array.isArray(pcrs)) {
      throw new ConfigError(`${source}: bank ${bank} must map PCR indexes to hex values`, bank)
    }
    const values = new Map<number, Uint8Array>()
    for (const [index, value] of Object.entries(pcrs)) {
      if (!/^(0|[1-9][0-9]?)$/.test(index) || Number(index) > MAX_PCR_INDEX) {
        throw new ConfigError(`${source}: ${bank}.${index} is not a PCR index from 0 to ${MAX_PCR_INDEX}`, `${bank}.${index}`)
      }
      if (typeof value !== 'string' || !new RegExp(`^[0-9a-fA-F]{${size * 2}}$`).test(value)) {
        throw new ConfigError(`${source}: ${bank}.${index} must be ${size * 2} hex digits (a ${bank} digest)`, `${bank}.${index}`)
      }
      values.set(Number(index), new Uint8Array(Buffer.from(value, 'hex')))
    }
    if (values.size > 0) {
      policy.set(id, values)
    }
  }
  return policy
}

/** the selection a node should quote to satisfy `policy`: bank name → ascending indexes */
export function policySelection (policy: PcrPolicy): Record<string, number[]> {
  const out: Record<string, number[]> = {}
  for (const [id, values] of policy) {
    const name = HASH_SIZES.get(id)?.name
    if (name != null) {
      out[name] = [...values.keys()].sort((a, b) => a - b)
    }
  }
  return out
}
