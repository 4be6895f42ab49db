/**
 * `--attestation tpm`: a node enrols with a TPM 2.0 quote
 * (protocols/attestation.md). Two steps, one enrolment:
 *
 * 1. The node asks for a challenge with its EK certificate and its AK's
 *    public area. The issuer seals the challenge for them with
 *    TPM2_MakeCredential (`credential.ts`) and MACs a digest of both into
 *    it (`ChallengeBook.issue(binding)`); the node sees the challenge only
 *    after `TPM2_ActivateCredential`, which a TPM does only when it holds
 *    that EK and a loaded object with the AK's Name.
 * 2. The node quotes the PCRs the issuer named with extraData =
 *    SHA-256(domain ‖ challenge ‖ its Ed25519 public key) and enrols with
 *    the challenge, the quote and the PCR values. The verifier checks the
 *    EK certificate against the configured endorsement CAs, the AK's
 *    attributes, the quote's signature, its binding, its PCRs against the
 *    policy, and hands the enrolment the binding under which the challenge
 *    must redeem: a challenge sealed for another EK or AK, a plain one, a
 *    used or a stale one is refused there.
 *
 * Each refusal has its own reason (`TPM_REFUSALS`), for the audit log.
 */
import { createHash, timingSafeEqual, X509Certificate } from 'node:crypto'
import { DOMAINS } from '../../core/domains.ts'
import { domainBytes } from '../../core/keys.ts'
import { b64 } from '../encoding.ts'
import { IssuerError } from '../errors.ts'
import { makeCredential } from './credential.ts'
import { decodeAttestQuote, decodePublic, decodeSignature, TpmDecodeError } from './decode.ts'
import { endorsedBy } from './endorsement.ts'
import { field64, MAX_EK_CERTIFICATE_B64, MAX_STRUCTURE_B64, parseEvidence } from './evidence.ts'
import { policySelection } from './pcr-policy.ts'
import { akKey, akProblem, objectName, pcrDigestOf, verifyQuoteSignature } from './quote.ts'
import type { AttestationContext, AttestationVerdict, AttestationVerifier, ChallengeSeal } from '../attestation.ts'
import type { PcrPolicy } from './pcr-policy.ts'
import type { TpmActivation } from '../../issuer-client/tpm-wire.ts'
import type { KeyObject } from 'node:crypto'

/** why a TPM enrolment was refused, as the audit log says it */
export const TPM_REFUSALS = {
  /** the evidence or one of its structures does not decode */
  malformed: 'tpm-malformed',
  /** the EK certificate is not issued by a configured endorsement CA (or not valid now) */
  ekUntrusted: 'tpm-ek-untrusted',
  /** the AK is not a TPM-resident restricted signing key */
  akAttributes: 'tpm-ak-attributes',
  /** the quote's signature does not verify under the AK */
  signature: 'tpm-signature',
  /** the quote's extraData binds another challenge or another Ed25519 key */
  binding: 'tpm-binding',
  /** the quote does not select every PCR the policy names */
  pcrSelection: 'tpm-pcr-selection',
  /** the PCR values in the evidence do not hash to the quote's pcrDigest */
  pcrDigest: 'tpm-pcr-digest',
  /** the quoted PCR values differ from the policy's */
  pcrPolicy: 'tpm-pcr-policy'
} as const

export interface TpmAttestationInit {
  /** the CAs whose EK certificates are accepted (`parseEndorsementCAs`) */
  endorsementCAs: readonly X509Certificate[]
  /** the PCR values every quote must show (`parsePcrPolicy`); empty: none */
  pcrPolicy: PcrPolicy
  now: () => number
}

/** the digest a sealed challenge is MACed with: this EK, this AK */
export function activationBinding (ekSpki: Uint8Array, akName: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(domainBytes(DOMAINS.tpmActivation, createHash('sha256').update(ekSpki).digest(), akName)).digest())
}

/** the extraData a quote for this challenge and this node key carries */
export function quoteExtraData (challenge: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(domainBytes(DOMAINS.tpmQuote, challenge, publicKey)).digest())
}

function ekPublicKey (der: Uint8Array): { cert: X509Certificate, key: KeyObject, spki: Uint8Array } {
  let cert: X509Certificate
  try {
    cert = new X509Certificate(der)
  } catch {
    throw new TpmDecodeError('ekCertificate', 'is not a DER X.509 certificate')
  }
  const key = cert.publicKey
  return { cert, key, spki: new Uint8Array(key.export({ type: 'spki', format: 'der' })) }
}

const EK_RSA_BITS = new Set([2048, 3072, 4096])

const refuse = (reason: string): AttestationVerdict => ({ ok: false, reason })

export function tpmAttestation (init: TpmAttestationInit): AttestationVerifier {
  const { endorsementCAs, pcrPolicy, now } = init
  const selection = policySelection(pcrPolicy)
  return {
    kind: 'tpm',

    sealChallenge (device: unknown): ChallengeSeal {
      const request = device as { ekCertificate?: unknown, akPublic?: unknown } | null
      try {
        const ek = ekPublicKey(field64(request?.ekCertificate, 'tpm.ekCertificate', MAX_EK_CERTIFICATE_B64))
        // the TCG EK templates: RSA 2048 (L-1) to 4096 with the default exponent; anything else would
        // also let an anonymous request make the issuer encrypt under a huge exponent
        const details = ek.key.asymmetricKeyDetails
        if (ek.key.asymmetricKeyType !== 'rsa' || !EK_RSA_BITS.has(details?.modulusLength ?? 0) || details?.publicExponent !== 65537n) {
          throw new IssuerError('bad-request', 'the EK certificate must hold an RSA endorsement key of 2048, 3072 or 4096 bits with exponent 65537 (the RSA EK certificate at NV 0x01c00002)')
        }
        const ak = decodePublic(field64(request?.akPublic, 'tpm.akPublic', MAX_STRUCTURE_B64))
        const name = objectName(ak)
        return {
          binding: activationBinding(ek.spki, name),
          seal: (challenge): { activation: TpmActivation } => {
            const wrapped = makeCredential(ek.key, name, challenge)
            return { activation: { credentialBlob: b64(wrapped.credentialBlob), encryptedSecret: b64(wrapped.encryptedSecret), pcrs: selection } }
          }
        }
      } catch (err) {
        if (err instanceof TpmDecodeError) {
          throw new IssuerError('bad-request', `TPM challenge request: ${err.message}`)
        }
        throw err
      }
    },

    async verify (evidence: string | undefined, context: AttestationContext): Promise<AttestationVerdict> {
      let decoded
      try {
        const e = parseEvidence(evidence)
        decoded = {
          e,
          ek: ekPublicKey(e.ekCertificate),
          ak: decodePublic(e.akPublic),
          quote: decodeAttestQuote(e.quote),
          signature: decodeSignature(e.signature)
        }
      } catch (err) {
        if (err instanceof TpmDecodeError) {
          return refuse(TPM_REFUSALS.malformed)
        }
        throw err
      }
      const { e, ek, ak, quote, signature } = decoded
      if (!endorsedBy(ek.cert, endorsementCAs, now())) {
        return refuse(TPM_REFUSALS.ekUntrusted)
      }
      if (akProblem(ak) != null) {
        return refuse(TPM_REFUSALS.akAttributes)
      }
      let key: KeyObject
      try {
        key = akKey(ak)
      } catch {
        return refuse(TPM_REFUSALS.malformed)
      }
      if (!verifyQuoteSignature(ak, key, e.quote, signature)) {
        return refuse(TPM_REFUSALS.signature)
      }
      const expected = quoteExtraData(context.challenge, context.publicKey)
      if (quote.extraData.length !== expected.length || !timingSafeEqual(quote.extraData, expected)) {
        return refuse(TPM_REFUSALS.binding)
      }
      for (const [bank, values] of pcrPolicy) {
        const selected = quote.pcrSelect.find(s => s.hashAlg === bank)?.pcrs ?? []
        if ([...values.keys()].some(pcr => !selected.includes(pcr))) {
          return refuse(TPM_REFUSALS.pcrSelection)
        }
      }
      // the evidence carries a value for every selected PCR (pcrDigestOf checks) and nothing more
      const carried = [...e.pcrs.values()].reduce((n, m) => n + m.size, 0)
      const selected = quote.pcrSelect.reduce((n, s) => n + s.pcrs.length, 0)
      const digest = pcrDigestOf(quote.pcrSelect, e.pcrs, signature.hashAlg)
      if (digest == null || carried !== selected) {
        return refuse(TPM_REFUSALS.malformed)
      }
      if (digest.length !== quote.pcrDigest.length || !timingSafeEqual(digest, quote.pcrDigest)) {
        return refuse(TPM_REFUSALS.pcrDigest)
      }
      for (const [bank, values] of pcrPolicy) {
        for (const [pcr, value] of values) {
          const quoted = e.pcrs.get(bank)?.get(pcr)
          if (quoted == null || !Buffer.from(quoted).equals(Buffer.from(value))) {
            return refuse(TPM_REFUSALS.pcrPolicy)
          }
        }
      }
      return { ok: true, binding: activationBinding(ek.spki, objectName(ak)) }
    }
  }
}
