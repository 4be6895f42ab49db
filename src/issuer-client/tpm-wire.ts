/**
 * The wire shapes of TPM attestation at enrolment (protocols/attestation.md),
 * shared by the issuer (`src/issuer/tpm/`) and the node (`src/cli/tpm-evidence.ts`).
 */

/** `POST /v1/challenge` with `{ tpm }`: seal the challenge for this TPM */
export interface TpmChallengeRequest {
  /** base64url DER: the EK certificate (NV index 0x01c00002) */
  ekCertificate: string
  /** base64url TPMT_PUBLIC: the attestation key's public area */
  akPublic: string
}

/** the answer: a challenge only that TPM opens (TPM2_ActivateCredential) */
export interface TpmActivation {
  /** base64url: TPM2B_ID_OBJECT's contents */
  credentialBlob: string
  /** base64url: TPM2B_ENCRYPTED_SECRET's contents */
  encryptedSecret: string
  /** the PCRs the quote must cover: bank name (sha256, …) → indexes */
  pcrs: Record<string, number[]>
}

/** the enrolment's `attestation`: this object as JSON text */
export interface TpmEvidence {
  /** format version */
  v: 1
  ekCertificate: string
  akPublic: string
  /** base64url TPMS_ATTEST, as the TPM signed it */
  quote: string
  /** base64url TPMT_SIGNATURE */
  signature: string
  /** the quoted PCRs' values: bank name → index → hex */
  pcrs: Record<string, Record<string, string>>
}
