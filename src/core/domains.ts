/**
 * The signature domains of every capability, in one place: no two kinds
 * of signed message can be mistaken for each other.
 */

/** Every signature is domain-separated: the domain string, then a 0x00, then the bytes. */
export const DOMAINS = {
  admitProof: 'tempus-admit-proof-v1',
  refresh: 'tempus-admit-refresh-v1',
  issuerChallenge: 'tempus-issuer-challenge-v1',
  keyCertificate: 'tempus-key-certificate-v1',
  revocationList: 'tempus-revocation-list-v1',
  revocationApproval: 'tempus-revocation-approval-v1',
  adminRequest: 'tempus-issuer-admin-request-v1',
  checkpoint: 'tempus-audit-checkpoint-v1',
  rootAnswer: 'tempus-root-answer-v1',
  attestation: 'tempus-attestation-v1',
  /** a TPM quote's extraData: SHA-256 of this domain, the issuer's challenge and the node's Ed25519 key */
  tpmQuote: 'tempus-tpm-quote-v1',
  /** a sealed challenge's binding: SHA-256 of this domain, the EK's SPKI digest and the AK's Name */
  tpmActivation: 'tempus-tpm-activation-v1',
  /** hashed, not signed: the Android keystore's attestation challenge (src/issuer/android/challenge.ts) */
  androidAttestation: 'tempus-android-attestation-v1',
  /** hashed, not signed: App Attest's clientDataHash (src/issuer/apple/client-data.ts) */
  appAttest: 'tempus-appattest-v1',
  /** hashed, not signed: Play Integrity's nonce (src/issuer/play/nonce.ts) */
  playIntegrity: 'tempus-play-integrity-v1',
  gossip: 'tempus-gossip-v1',
  dtnBundle: 'tempus-dtn-bundle-v1',
  dtnReceipt: 'tempus-dtn-receipt-v1',
  dtnPayload: 'tempus-dtn-payload-v1',
  dtnEndorsement: 'tempus-dtn-endorsement-v1',
  federation: 'tempus-federation-v1',
  cyclonDescriptor: 'tempus-cyclon-descriptor-v1',
  cyclonHop: 'tempus-cyclon-hop-v1',
  admitTicket: 'tempus-admit-ticket-v1',
  /** keyed, not signed: the resumption handshake's binder, transcript and keys (src/admission/resume-handshake.ts) */
  admitResume: 'tempus-admit-resume-v1'
} as const
