/**
 * A node moving to a new identity key (`tempus rekey`): what an operator
 * does when a key may have leaked. The new key is made and kept beside the
 * old one first (`identity.key.next`), the issuer is asked (both keys prove
 * possession, `IssuerClient.rekey`), the new credential is kept beside the
 * old enrolment (`enrollment.json.next`), and only then are both renamed
 * over the old files. A crash anywhere leaves either the old pair, or a
 * staged pair that the next `tempus rekey` or `tempus start` finishes
 * (`completePendingRekey`): never a key with another key's credential. A
 * repeated re-key reuses the staged key, so an answer lost on the way is
 * asked for again, for the same new key.
 */
import { TempusError } from '../core/tempus-error.ts'
import { rename, stat } from 'node:fs/promises'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { syncDir } from '../storage/durable.ts'
import { identityKeyStore, releaseIdentityKey } from '../identity/identity.ts'
import { writeFileDurably } from '../identity/key-store.ts'
import { ENROLLMENT_FILE, loadEnrollment } from './enrollment.ts'
import { join } from 'node:path'
import type { IssuerClient } from '../issuer-client/client.ts'

const IDENTITY = 'identity.key'
const NEXT = '.next'

export class RekeyError extends TempusError {
  readonly code = 'rekey'
  override readonly name = 'RekeyError'
}

export interface RekeyInit {
  dataDir: string
  /** the identity key file's passphrase (asked for only when the key is a file; a token's key needs its PIN) */
  passphrase: string | (() => Promise<string>)
  /** the issuer (a replica that answers: the CLI tries each the node knows) */
  client: Pick<IssuerClient, 'rekey'>
  /** scrypt cost for the new key's file (tests lower it) */
  scryptN?: number
}

export interface RekeyOutcome {
  from: string
  to: string
}

async function exists (path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (err: any) {
    if (err.code === 'ENOENT') return false
    throw err
  }
}

/** Finish a re-key whose new credential was kept but whose files were not both renamed yet; true if one was. */
export async function completePendingRekey (dataDir: string): Promise<boolean> {
  const nextEnrollment = join(dataDir, ENROLLMENT_FILE + NEXT)
  if (!await exists(nextEnrollment)) {
    // no credential for a staged key yet: the old pair stands (a staged key alone waits for the next `tempus rekey`)
    return false
  }
  const nextKey = join(dataDir, IDENTITY + NEXT)
  if (await exists(nextKey)) {
    await rename(nextKey, join(dataDir, IDENTITY))
  }
  await rename(nextEnrollment, join(dataDir, ENROLLMENT_FILE))
  syncDir(dataDir)
  return true
}

/** Move the node in `dataDir` (stopped: the caller holds its lock) to a new identity key. */
export async function rekeyNode (init: RekeyInit): Promise<RekeyOutcome> {
  await completePendingRekey(init.dataDir)
  const passphrase = init.passphrase
  const current = await identityKeyStore(join(init.dataDir, IDENTITY), {
    passphrase: typeof passphrase === 'string' ? async () => passphrase : passphrase,
    scryptN: init.scryptN
  })
  const oldKey = await current.load()
  if (oldKey == null) {
    throw new RekeyError(`${init.dataDir} holds no identity key; run tempus init and tempus enroll first`)
  }
  const enrollment = await loadEnrollment(init.dataDir)
  if (enrollment == null) {
    throw new RekeyError(`${init.dataDir} is not enrolled; run tempus enroll first (re-keying needs a current credential)`)
  }
  const from = peerIdFromPrivateKey(oldKey).toString()
  if (enrollment.peerId !== from) {
    throw new RekeyError(`${init.dataDir}: enrollment.json is for ${enrollment.peerId}, the identity key is ${from}; restore the matching pair from a backup`)
  }
  // the next key is made where the current one lives: a file beside it, or a new key in the same token
  const staged = current.beside(join(init.dataDir, IDENTITY + NEXT))
  let newKey
  let result
  try {
    newKey = await staged.load() ?? await staged.create()
    result = await init.client.rekey(oldKey, enrollment.credential, newKey)
  } finally {
    releaseIdentityKey(oldKey)
    if (newKey != null) releaseIdentityKey(newKey)
  }
  const to = peerIdFromPrivateKey(newKey).toString()
  if (result.peerId !== to) {
    throw new RekeyError(`the issuer answered for ${result.peerId}, not the new key ${to}; nothing was changed`)
  }
  await writeFileDurably(join(init.dataDir, ENROLLMENT_FILE + NEXT), JSON.stringify({ ...enrollment, peerId: to, typ: result.typ, credential: result.credential }, null, 2) + '\n', 0o600)
  await completePendingRekey(init.dataDir)
  return { from, to }
}
