/**
 * The CLI's one way to a data directory's identity key: an encrypted file
 * (its passphrase asked for, with the progress line scrypt deserves) or a
 * PKCS#11 token (its PIN from the environment). The caller releases it.
 */
import { identityKeyStore } from '../identity/index.ts'
import { dataPath } from '../node/data-dir.ts'
import { cliPassphrase } from './passphrase.ts'
import { withProgress } from './progress.ts'
import type { Passphrase } from '../identity/passphrase.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface NodeKey {
  key: PrivateKey | undefined
  /** where the key lives */
  backend: 'file' | 'pkcs11'
  /** the passphrase's source, for a file key */
  passphrase?: Passphrase['source']
}

export async function loadNodeKey (dataDir: string, options: { passphraseFile?: string, json?: boolean, path?: string }): Promise<NodeKey> {
  let passphrase: Passphrase | undefined
  const store = await identityKeyStore(options.path ?? dataPath(dataDir, 'identity'), {
    passphrase: async () => {
      passphrase = await cliPassphrase({ file: options.passphraseFile })
      return passphrase.value
    }
  })
  if (passphrase == null) {
    return { key: await store.load(), backend: 'pkcs11' }
  }
  const key = await withProgress('deriving the identity key\'s decryption key from the passphrase (scrypt)', async () => await store.load(), options)
  return { key, backend: 'file', passphrase: passphrase.source }
}
