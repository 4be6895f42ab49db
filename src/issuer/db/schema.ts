/**
 * The issuer's tables, one definition for both backends: 64-bit integers
 * (counts, indexes, ms since the epoch) and byte strings are spelled per
 * dialect; everything else is the same SQL. Statements are idempotent
 * (IF NOT EXISTS), so every open runs them.
 */
import type { IssuerStoreKind } from './sql.ts'

/** The schema's statements for one dialect, in order. */
export function issuerSchema (dialect: IssuerStoreKind): string[] {
  const INT = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT'
  const BYTES = dialect === 'sqlite' ? 'BLOB' : 'BYTEA'
  return `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signing_keys (
  epoch ${INT} PRIMARY KEY,
  kid TEXT NOT NULL UNIQUE,
  sealed TEXT NOT NULL,
  certificate TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('announced', 'current', 'retired')),
  announced_at ${INT} NOT NULL,
  activated_at ${INT}
);
CREATE TABLE IF NOT EXISTS codes (
  code_hash TEXT PRIMARY KEY,
  typ TEXT NOT NULL,
  uses_left ${INT} NOT NULL,
  expires_at ${INT} NOT NULL,
  created_at ${INT} NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
  peer_id TEXT PRIMARY KEY,
  typ TEXT NOT NULL,
  enrolled_at ${INT} NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked (
  peer_id TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  at ${INT} NOT NULL
);
CREATE TABLE IF NOT EXISTS crls (
  n ${INT} PRIMARY KEY,
  jws TEXT NOT NULL,
  created_at ${INT} NOT NULL
);
CREATE TABLE IF NOT EXISTS admins (
  public_key TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  added_at ${INT} NOT NULL
);
CREATE TABLE IF NOT EXISTS revocation_requests (
  id TEXT PRIMARY KEY,
  peer_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
  created_at ${INT} NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
  request_id TEXT NOT NULL,
  admin_key TEXT NOT NULL,
  signature TEXT NOT NULL,
  at ${INT} NOT NULL,
  PRIMARY KEY (request_id, admin_key)
);
-- subtrees: the audit log's Merkle tree kept incrementally, the hashes of
-- the perfect subtrees this leaf completes (levels 1.., 32 bytes each, null
-- for none): roots and proofs of any size are O(log n) reads (audit-log.ts)
CREATE TABLE IF NOT EXISTS audit (
  idx ${INT} PRIMARY KEY,
  entry TEXT NOT NULL,
  leaf_hash ${BYTES} NOT NULL,
  subtrees ${BYTES}
);
-- a member moving to a new identity key: the old one is revoked when the new one fetches its first token
CREATE TABLE IF NOT EXISTS rekeys (
  old_peer_id TEXT PRIMARY KEY,
  new_peer_id TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
  at ${INT} NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS signing_keys_one_current ON signing_keys (state) WHERE state = 'current';
-- which key each code use went to: a node whose enrolment answer was lost
-- on the way repeats the request and gets its credential again
CREATE TABLE IF NOT EXISTS code_uses (
  code_hash TEXT NOT NULL,
  peer_id TEXT NOT NULL,
  at ${INT} NOT NULL,
  PRIMARY KEY (code_hash, peer_id)
);
CREATE TABLE IF NOT EXISTS root_requests (
  nonce TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'imported')),
  created_at ${INT} NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_certificates (
  public_key TEXT PRIMARY KEY,
  certificate TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
  size ${INT} PRIMARY KEY,
  root ${BYTES} NOT NULL,
  signature ${BYTES} NOT NULL,
  at ${INT} NOT NULL
);
`.split(';').map(s => s.trim()).filter(s => s.length > 0)
}
