/**
 * The issuer API's wire shapes and the bytes a node signs for it: what the
 * issuer (`src/issuer/`) answers and what its clients (`IssuerClient`,
 * `IssuerReplicas`, the CLI) send and read. `protocols/issuer.md` is the spec.
 */
import type { PeerType } from '../core/peer-type.ts'

export interface OverlayConfig {
  overlay: string
  issuer: string
  /** base64url raw Ed25519 */
  rootPublicKey: string
  bootstrap: string[]
  /** every replica's base URL, as the operator set it (`tempus issuer replicas --set`); absent: none set, nodes know only the one they asked */
  issuers?: string[]
}

export interface KeySet {
  current: string
  announced?: string
  epoch: number
}

export interface EnrollRequest {
  code: string
  /** base64url raw Ed25519 public key of the node */
  publicKey: string
  /** base64url, from `challenge()` */
  challenge: string
  /** base64url signature by the node key over the challenge (domain issuer-challenge, purpose "enroll") */
  signature: string
  attestation?: string
  /**
   * the type the node wants; a code of another type is refused
   * (`wrong-type`) without using it. Absent: the node takes the code's type.
   */
  typ?: PeerType
}

export interface EnrollResult extends OverlayConfig {
  peerId: string
  typ: PeerType
  credential: string
  keys: KeySet
}

export interface TokenRequest {
  credential: string
  challenge: string
  signature: string
  /**
   * the requesting client's instance: random per process, kept in memory
   * only, so that two processes holding one credential (a copied data
   * directory) are told apart. Absent: one shared "unnamed" instance.
   */
  instance?: string
}

/** A current credential and a proof of possession on a fresh challenge (purpose "renew"). */
export interface RenewRequest {
  credential: string
  challenge: string
  signature: string
}

export interface RenewResult {
  /** the new credential: same subject and type, a new lifetime */
  credential: string
  /** ms since the epoch */
  expiresAt: number
}

/**
 * A member moving to a new identity key (its old one may have leaked): its
 * current credential and a proof by the old key, and a proof by the new key,
 * both on one fresh challenge and both naming the new key.
 */
export interface RekeyRequest {
  credential: string
  challenge: string
  /** by the old key, purpose "rekey", over the challenge and the new public key */
  signature: string
  /** base64url raw Ed25519 public key of the new identity */
  publicKey: string
  /** by the new key, purpose "rekey-new", over the challenge and the new public key */
  newSignature: string
}

export interface RekeyResult {
  /** the new identity's PeerId */
  peerId: string
  typ: PeerType
  /** a credential for the new PeerId */
  credential: string
  /** ms since the epoch */
  expiresAt: number
}

export interface TokenResult {
  token: string
  /** ms since the epoch */
  expiresAt: number
  /** the certificate of the key that signed it */
  keyCertificate: string
}

export interface RevocationRequest {
  id: string
  peerId: string
  reason: string
  /** what admins sign (base64url of its bytes in `approve`) */
  payload: string
  approvals: number
  threshold: number
  state: 'pending' | 'done'
}

/**
 * What a proof of possession is for. The purpose is signed, so a proof made
 * for one request (a token) cannot be replayed as another (a renewal).
 */
export type ChallengePurpose = 'enroll' | 'token' | 'renew' | 'rekey' | 'rekey-new'

/**
 * The bytes a node signs to prove it holds its key, for one purpose (and,
 * for a re-key, the new key both proofs bind).
 */
export function challengeMessage (purpose: ChallengePurpose, challenge: Uint8Array, ...bound: Uint8Array[]): Uint8Array[] {
  return [Buffer.from(purpose), challenge, ...bound]
}

/** One audit log entry (a leaf: `SHA-256(0x00 ‖ its JSON)`). */
export interface AuditEntry {
  i: number
  at: number
  kind: string
  data: Record<string, unknown>
}

/** A root-signed checkpoint of the audit log: its size and RFC 6962 root. */
export interface Checkpoint {
  size: number
  root: string
  signature: string
  at: number
}
