import { access, mkdir } from 'node:fs/promises'
import YAML from 'yaml'
import { EncryptedFileKeyStore, loadOrCreateIdentity } from '../../identity/index.ts'
import { cliPassphrase as resolvePassphrase } from '../passphrase.ts'
import { loadOrCreateApiToken } from '../../node/api-token.ts'
import { parseConfig } from '../../node/config.ts'
import { dataPath } from '../../node/data-dir.ts'
import { writeFileDurably } from '../../identity/key-store.ts'
import { UsageError } from '../errors.ts'
import { printJson } from '../output.ts'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerType } from '../../core/peer-type.ts'

export interface InitOptions {
  data: string
  type: PeerType
  listen: string[]
  bootstrap: string[]
  mdns: boolean
  api?: string
  passphraseFile?: string
  json?: boolean
}

/** Create a data directory: config file, identity key, admin API token. */
export async function initCommand (options: InitOptions): Promise<void> {
  const configPath = dataPath(options.data, 'config')
  if (await exists(configPath)) {
    throw new UsageError(`${configPath} exists already; this data directory was initialised before`)
  }
  const fileConfig: Record<string, unknown> = {
    type: options.type,
    listen: options.listen.length > 0 ? options.listen : ['/ip4/0.0.0.0/tcp/0'],
    bootstrap: options.bootstrap,
    mdns: { enabled: options.mdns },
    api: { enabled: true, listen: options.api ?? '127.0.0.1:0' }
  }
  parseConfig(fileConfig) // validate before writing anything
  await mkdir(options.data, { recursive: true, mode: 0o700 })
  const passphrase = await resolvePassphrase({ file: options.passphraseFile })
  if (passphrase.source === 'dev-default') {
    process.stderr.write('WARNING: no TEMPUS_PASSPHRASE or TEMPUS_PASSPHRASE_FILE set; the identity key is encrypted with the public development passphrase.\n')
  }
  const { privateKey, created } = await loadOrCreateIdentity(new EncryptedFileKeyStore({ path: dataPath(options.data, 'identity'), passphrase: passphrase.value }))
  await loadOrCreateApiToken(dataPath(options.data, 'apiToken'))
  const header = '# tempus node configuration; every field and its default is in the README\n'
  await writeFileDurably(configPath, header + YAML.stringify(fileConfig), 0o600)
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  if (options.json === true) {
    printJson({ peerId, type: options.type, dataDir: options.data, config: configPath, createdKey: created })
  } else {
    process.stdout.write(`initialised ${options.type} node ${peerId} in ${options.data}\n`)
  }
}

async function exists (path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}
