import { access, mkdir } from 'node:fs/promises'
import YAML from 'yaml'
import { EncryptedFileKeyStore, Pkcs11KeyStore, loadOrCreateIdentity, parsePkcs11Uri, releaseIdentityKey } from '../../identity/index.ts'
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
  /** `pkcs11:…` (RFC 7512): make the identity key inside that token, never exportable */
  key?: string
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
  const keyUri = options.key == null ? undefined : parseKeyOption(options.key)
  await mkdir(options.data, { recursive: true, mode: 0o700 })
  const identityPath = dataPath(options.data, 'identity')
  let store
  if (keyUri != null) {
    store = new Pkcs11KeyStore({ path: identityPath, uri: keyUri })
  } else {
    const passphrase = await resolvePassphrase({ file: options.passphraseFile })
    if (passphrase.source === 'dev-default') {
      process.stderr.write('WARNING: no TEMPUS_PASSPHRASE or TEMPUS_PASSPHRASE_FILE set; the identity key is encrypted with the public development passphrase.\n')
    }
    store = new EncryptedFileKeyStore({ path: identityPath, passphrase: passphrase.value })
  }
  const { privateKey, created } = await loadOrCreateIdentity(store)
  releaseIdentityKey(privateKey)
  await loadOrCreateApiToken(dataPath(options.data, 'apiToken'))
  const header = '# tempus node configuration; every field and its default is in the README\n'
  await writeFileDurably(configPath, header + YAML.stringify(fileConfig), 0o600)
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  if (options.json === true) {
    printJson({ peerId, type: options.type, dataDir: options.data, config: configPath, createdKey: created, key: keyUri == null ? 'file' : 'pkcs11' })
  } else {
    process.stdout.write(`initialised ${options.type} node ${peerId} in ${options.data}${keyUri == null ? '' : ' (identity key in the PKCS#11 token)'}\n`)
  }
}

/** `--key`: only a PKCS#11 URI today; its errors are usage errors. */
function parseKeyOption (text: string): ReturnType<typeof parsePkcs11Uri> {
  if (!text.startsWith('pkcs11:')) {
    throw new UsageError('--key takes a PKCS#11 URI (RFC 7512): pkcs11:token=LABEL;object=KEYLABEL?module-path=/path/to/module.so; without --key the identity key is an encrypted file')
  }
  try {
    return parsePkcs11Uri(text)
  } catch (err: any) {
    throw new UsageError(`--key: ${String(err.message)}`)
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
