/**
 * Verifying an EdDSA JWS (token, credential, key certificate, revocation
 * list) through jose: bounded size, signature, expected `typ`, JSON payload.
 */
import { compactVerify } from 'jose'
import { AdmissionError } from './errors.ts'
import type { KeyObject } from 'node:crypto'

export interface VerifiedJws {
  kid: string | undefined
  payload: any
}

export async function verifyJws (jws: string, key: KeyObject, typ: string, maxBytes: number, what: string): Promise<VerifiedJws> {
  if (typeof jws !== 'string' || jws.length === 0 || jws.length > maxBytes) {
    throw new AdmissionError('malformed', `${what} missing or too large`)
  }
  let result: Awaited<ReturnType<typeof compactVerify>>
  try {
    result = await compactVerify(jws, key, { algorithms: ['EdDSA'] })
  } catch (err: any) {
    throw new AdmissionError(err?.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' ? 'bad-signature' : 'malformed', `${what} does not verify`)
  }
  if (result.protectedHeader.typ !== typ) {
    throw new AdmissionError('malformed', `expected a ${typ}`)
  }
  try {
    return { kid: result.protectedHeader.kid, payload: JSON.parse(new TextDecoder().decode(result.payload)) }
  } catch {
    throw new AdmissionError('malformed', `${what} payload is not JSON`)
  }
}
