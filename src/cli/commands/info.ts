import { EncryptedFileKeyStore, resolvePassphrase } from '../../identity/index.ts'
import { dataPath } from '../../node/data-dir.ts'
import { DataDirError } from '../../node/errors.ts'
import { apiGet } from '../api-client.ts'
import { formatTable, printJson } from '../output.ts'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { NodeStatus, PeerSummary } from '../../node/tempus-node.ts'

export async function idCommand (options: { data: string, passphraseFile?: string, json?: boolean }): Promise<void> {
  const passphrase = await resolvePassphrase({ file: options.passphraseFile })
  const key = await new EncryptedFileKeyStore({ path: dataPath(options.data, 'identity'), passphrase: passphrase.value }).load()
  if (key == null) {
    throw new DataDirError(`${options.data} holds no identity key; run: tempus init --data ${options.data} --type edge|bridge|sentinel`)
  }
  const peerId = peerIdFromPrivateKey(key).toString()
  if (options.json === true) {
    printJson({ peerId, publicKey: Buffer.from(key.publicKey.raw).toString('base64') })
  } else {
    process.stdout.write(peerId + '\n')
  }
}

export async function peersCommand (options: { data: string, json?: boolean }): Promise<void> {
  const { peers } = await apiGet<{ peers: PeerSummary[] }>(options.data, '/v1/mesh/peers')
  if (options.json === true) {
    printJson({ peers })
    return
  }
  process.stdout.write(formatTable(
    ['PEER', 'TYPE', 'CONNECTED', 'LAST SEEN', 'ADDRESSES'],
    peers.map(p => [p.peerId, p.type ?? '?', p.connected ? 'yes' : 'no', p.lastSeen ?? '-', p.addresses.join(' ')])
  ))
}

export async function statusCommand (options: { data: string, json?: boolean }): Promise<void> {
  const status = await apiGet<NodeStatus>(options.data, '/v1/status')
  if (options.json === true) {
    printJson(status)
    return
  }
  process.stdout.write(formatTable(['FIELD', 'VALUE'], [
    ['peer id', status.peerId],
    ['type', status.type],
    ['status', status.status],
    ['version', status.version],
    ['connections', status.connections],
    ['peers', status.peers],
    ['dht mode', status.dhtMode],
    ['uptime', `${status.uptimeSeconds}s`],
    ['admin API', status.api ?? '-'],
    ...status.addrs.map(a => ['address', a] as [string, string])
  ]))
}
