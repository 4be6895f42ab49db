/**
 * Who a node is and what it may claim, before anything listens: its
 * identity key (from the data directory, sealed with its passphrase, or
 * given; a fresh one for an ephemeral node), its datastore, its admin API
 * token, and its enrolment, checked against the key and the configured
 * type (default deny: no enrolment, no node). A re-key interrupted after
 * the issuer answered is finished first.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MemoryDatastore } from 'datastore-core'
import { FsDatastore } from 'datastore-fs'
import { PEER_STORE_PREFIX, WriteBehindDatastore } from '../storage/write-behind-datastore.ts'
import { loadEnrollment } from '../admission/enrollment.ts'
import { completePendingRekey } from '../admission/rekey.ts'
// the concept files, not identity/index.ts: its re-exports would load the PKCS#11 binding into every node
import { identityKeyStore, loadOrCreateIdentity, releaseIdentityKey } from '../identity/identity.ts'
import { resolvePassphrase } from '../identity/passphrase.ts'
import { generateApiToken, loadOrCreateApiToken } from './api-token.ts'
import { dataPath, neverStarted, prepareDatastore, recordIdentity } from './data-dir.ts'
import { ConfigError, NotEnrolledError } from './errors.ts'
import type { Enrollment } from '../admission/enrollment.ts'
import type { PinoLogger } from '../logging/logger.ts'
import type { TempusConfig } from './config.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

export interface NodeIdentityOptions {
  dataDir?: string
  privateKey?: PrivateKey
  passphrase?: string
  scryptN?: number
  enrollment?: Enrollment
  now: () => number
  logger: PinoLogger
}

export interface NodeIdentity {
  privateKey: PrivateKey
  datastore: Datastore
  apiToken?: string
  enrollment: Enrollment
  /** writes what the datastore holds back (the peer store); called when the node stops */
  closeDatastore?: () => Promise<void>
  /** the key's PeerId, as text */
  peerIdOfKey: string
  /** the identity may have run before: its data directory had started a node (`neverStarted`) */
  ranBefore: boolean
}

/** What it opened is pushed onto `undo` (closed in reverse if a later step fails). */
export async function nodeIdentity (parsed: TempusConfig, options: NodeIdentityOptions, undo: Array<() => unknown>): Promise<NodeIdentity> {
  const { dataDir, now } = options
  const log = options.logger
  let privateKey: PrivateKey | undefined = options.privateKey
  let datastore: Datastore
  let closeDatastore: (() => Promise<void>) | undefined
  let apiToken: string | undefined
  let ranBefore = false
  if (dataDir != null) {
    ranBefore = !neverStarted(dataDir)
    if (privateKey == null) {
      // a re-key interrupted after the issuer answered is finished first (never a key with another key's credential)
      if (await completePendingRekey(dataDir)) {
        log.warn({ dataDir }, 'finished an interrupted re-key: the node starts with its new identity key')
      }
      const path = dataPath(dataDir, 'identity')
      const store = await identityKeyStore(path, {
        scryptN: options.scryptN,
        // asked for only when the key is an encrypted file (a token's key needs its PIN instead)
        passphrase: async () => {
          const passphrase = options.passphrase != null
            ? { value: options.passphrase, source: 'option' as const }
            : await resolvePassphrase()
          if (passphrase.source === 'dev-default') {
            log.warn('INSECURE: the identity key is encrypted with the built-in development passphrase; set TEMPUS_PASSPHRASE or TEMPUS_PASSPHRASE_FILE for any real deployment')
          }
          return passphrase.value
        }
      })
      const identity = await loadOrCreateIdentity(store)
      privateKey = identity.privateKey
      const opened = privateKey
      undo.push(() => { releaseIdentityKey(opened) })
      if (identity.created) {
        log.info({ path }, 'created a new identity key')
      }
      recordIdentity(dataDir, now)
    }
    const fs = new FsDatastore(await prepareDatastore(dataDir, now))
    await fs.open()
    // the peer store in memory, written to disk behind: libp2p reads and
    // rewrites a peer's record on every stream (src/storage/write-behind-datastore.ts)
    const behind = new WriteBehindDatastore(fs, { prefix: PEER_STORE_PREFIX, onFlushError: err => { log.warn({ err: (err as Error)?.name }, 'could not write the peer store to disk; retrying at the next flush') } })
    await behind.open()
    undo.push(async () => { await behind.close(); await fs.close() })
    datastore = behind
    closeDatastore = async () => { await behind.close() }
    apiToken = await loadOrCreateApiToken(dataPath(dataDir, 'apiToken'))
  } else {
    privateKey ??= await generateKeyPair('Ed25519')
    datastore = new MemoryDatastore()
    apiToken = parsed.api.enabled ? generateApiToken() : undefined
  }

  const enrollment = options.enrollment ?? (dataDir == null ? undefined : await loadEnrollment(dataDir))
  if (enrollment == null) {
    throw new NotEnrolledError(dataDir == null
      ? 'a node needs an enrollment (default deny): enrol its key with the issuer first'
      : `the node in ${dataDir} is not enrolled (default deny); run: tempus enroll --data ${dataDir} --issuer URL --code CODE`)
  }
  if (enrollment.typ !== parsed.type) {
    throw new ConfigError(`type: the node was enrolled as ${enrollment.typ} but is configured as ${parsed.type}`, 'type')
  }
  const peerIdOfKey = peerIdFromPrivateKey(privateKey).toString()
  if (enrollment.peerId !== peerIdOfKey) {
    throw new NotEnrolledError(`the enrollment is for ${enrollment.peerId}, not for this node's key ${peerIdOfKey}`)
  }

  return { privateKey, datastore, closeDatastore, apiToken, enrollment, peerIdOfKey, ranBefore }
}
