import { releaseIdentityKey } from '../../identity/index.ts'
import { loadNodeKey } from '../node-key.ts'
import { DataDirError } from '../../core/data-dir-error.ts'
import { apiGet, apiPost } from '../api-client.ts'
import { UsageError } from '../errors.ts'
import { formatTable, printJson } from '../output.ts'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { NodeStatus, PeerSummary } from '../../node/tempus-node.ts'
import type { Readiness } from '../../node/readiness.ts'

export async function idCommand (options: { data: string, passphraseFile?: string, json?: boolean }): Promise<void> {
  const { key, backend } = await loadNodeKey(options.data, options)
  if (key == null) {
    throw new DataDirError(`${options.data} holds no identity key; run: tempus init --data ${options.data} --type edge|bridge|sentinel`)
  }
  releaseIdentityKey(key)
  const peerId = peerIdFromPrivateKey(key).toString()
  if (options.json === true) {
    printJson({ peerId, publicKey: Buffer.from(key.publicKey.raw).toString('base64'), key: backend })
  } else {
    process.stdout.write(peerId + '\n')
  }
}

export async function peersCommand (options: { data?: string, json?: boolean }): Promise<void> {
  if (options.data == null) {
    throw new UsageError('tempus peers needs --data <dir>')
  }
  const { peers } = await apiGet<{ peers: PeerSummary[] }>(options.data, '/v1/mesh/peers')
  if (options.json === true) {
    printJson({ peers })
    return
  }
  process.stdout.write(formatTable(
    ['PEER', 'TYPE', 'CONNECTED', 'ADMITTED', 'SUSPICION', 'WHY', 'LAST SEEN', 'LAST END', 'REDIAL', 'ADDRESSES'],
    peers.map(p => [p.peerId, `${p.type ?? '?'}${p.keptSentinel ? ' (kept)' : ''}`, p.connected ? 'yes' : 'no', p.revoked ? 'revoked' : (p.admitted ? 'yes' : 'no'), suspicionText(p.suspicion), offencesText(p.suspicion.offences ?? []), p.lastSeen ?? '-', p.lastConnectionEnd == null ? '-' : `${p.lastConnectionEnd.how}: ${p.lastConnectionEnd.cause}`, redialText(p.redial), p.addresses.join(' ')])
  ))
}

/** `3 failed, next 12:01:02Z: EncryptionFailedError: …`: the keeper's failed dials since the peer was last connected */
function redialText (r: PeerSummary['redial'] | undefined): string {
  return r == null ? '-' : `${r.failures} failed, next ${r.nextAt.slice(11, 19)}Z${r.lastError != null ? `: ${r.lastError}` : ''}`
}

/** `25.3 quarantined until 2026-…`: the score, the state, and when a quarantine ends */
function suspicionText (s: PeerSummary['suspicion']): string {
  return `${s.score} ${s.state}${s.quarantinedUntil != null ? ` until ${s.quarantinedUntil}` : ''}`
}

/** the last offences, newest first: `rpc-denied (admin.ping) +5 at 12:01:02Z, …` */
function offencesText (offences: PeerSummary['suspicion']['offences']): string {
  if (offences.length === 0) {
    return '-'
  }
  return offences.slice(-3).reverse().map(o => `${o.offence}${o.cause != null ? ` (${o.cause})` : ''} +${o.weight} at ${o.at.slice(11, 19)}Z`).join(', ')
}

export async function peersClearCommand (peerId: string | undefined, options: { data: string, json?: boolean, all?: boolean }): Promise<void> {
  if (options.all === true) {
    if (peerId != null) {
      throw new UsageError('tempus peers clear takes a PeerId or --all, not both')
    }
    const all = await apiPost<{ cleared: string[] }>(options.data, '/v1/mesh/peers/clear')
    if (options.json === true) {
      printJson(all)
    } else {
      process.stdout.write(`cleared the suspicion, quarantines and bans of ${all.cleared.length} peer(s)\n`)
    }
    return
  }
  if (peerId == null) {
    throw new UsageError('tempus peers clear needs a PeerId (tempus peers lists them) or --all')
  }
  const result = await apiPost<{ peerId: string, suspicion: { score: number, state: string } }>(options.data, `/v1/mesh/peers/${encodeURIComponent(peerId)}/clear`)
  if (options.json === true) {
    printJson(result)
  } else {
    process.stdout.write(`cleared ${result.peerId}: suspicion ${result.suspicion.score} (${result.suspicion.state})\n`)
  }
}

export async function statusCommand (options: { data: string, json?: boolean }): Promise<void> {
  const status = await apiGet<NodeStatus>(options.data, '/v1/status')
  const readiness = await apiGet<Readiness>(options.data, '/readyz', [503])
  if (options.json === true) {
    printJson({ ...status, readiness })
    return
  }
  process.stdout.write(formatTable(['FIELD', 'VALUE'], [
    // first, and plainly: whether the node can do its job, and if not, what is wrong and what to do
    ['ready', readiness.ready ? (readiness.aloneByDesign && readiness.admittedPeers === 0 ? 'yes (no bootstrap peers configured: alone by design)' : `yes (admitted to ${readiness.admittedPeers} peer(s))`) : 'NO'],
    ...readiness.reasons.map(r => [`not ready: ${r.code}`, r.detail] as [string, string]),
    ['peer id', status.peerId],
    ['type', status.type],
    ['status', status.status],
    ['version', status.version],
    ['connections', status.connections],
    ['peers', status.peers],
    ['dht mode', status.dhtMode],
    ['uptime', `${status.uptimeSeconds}s`],
    ['admin API', status.api ?? '-'],
    ['overlay', status.admission.overlay],
    ['key epoch', status.admission.epoch ?? '-'],
    ['token expires', status.admission.tokenExpiresAt ?? 'no token'],
    ['credential expires', status.admission.credentialExpiresAt ?? '-'],
    // a refused credential needs an operator: say what to do, not only that it failed
    ...(status.admission.credentialRefused == null ? [] : [['credential', `refused (${status.admission.credentialRefused}): enrol again with a new code: tempus enroll --data ${options.data} --issuer ${status.admission.issuerLastAnswered ?? 'URL'} --code CODE`] as [string, string]]),
    ...issuerRows(status.admission),
    ['revocation list', status.admission.revocationList ?? '-'],
    ['admitted peers', status.admission.admittedPeers],
    ['issuer outage', status.admission.issuerOutageSince == null ? 'no' : `since ${status.admission.issuerOutageSince} (${status.admission.issuerOutagePolicy}; ${status.admission.keptConnections} kept)`],
    ...status.addrs.map(a => ['address', a] as [string, string])
  ]))
}

/** One row per issuer replica (up or down, and why), then the one that answered last. */
export function issuerRows (admission: Pick<NodeStatus['admission'], 'issuers' | 'issuerLastAnswered'>): Array<[string, string]> {
  // a node older than the replica list shows none
  const replicas = admission.issuers ?? []
  return [
    ...replicas.map(r => ['issuer', r.healthy
      ? `${r.url} up${r.lastAnswerAt == null ? ' (not asked yet)' : `, answered ${r.lastAnswerAt}`}`
      : `${r.url} DOWN (${r.lastError ?? 'error'}, ${r.consecutiveFailures} failure${r.consecutiveFailures === 1 ? '' : 's'} in a row${r.retryAt == null ? '' : `, asked again from ${r.retryAt}`}${r.lastAnswerAt == null ? '' : `; last answered ${r.lastAnswerAt}`})`] as [string, string]),
    ...(replicas.length === 0 ? [] : [['issuer answered last', admission.issuerLastAnswered ?? '-'] as [string, string]])
  ]
}

export async function viewsCommand (options: { data: string, json?: boolean }): Promise<void> {
  const { views } = await apiGet<{ views: Record<string, { member: boolean, capacity: number, size: number, entries: Array<{ peerId: string, age: number }> }> }>(options.data, '/v1/mesh/views')
  if (options.json === true) {
    printJson({ views })
    return
  }
  for (const [type, v] of Object.entries(views)) {
    process.stdout.write(`${type} view (${v.member ? 'member' : 'observer'}): ${v.size}/${v.capacity}\n`)
    for (const e of v.entries) {
      process.stdout.write(`  ${e.peerId}  age ${e.age}\n`)
    }
  }
}

export async function rpcPermissionsCommand (options: { data: string, json?: boolean }): Promise<void> {
  const result = await apiGet<{ rules: Array<{ peer?: string, type?: string, allow: string[] }>, exposed: Array<{ method: string, authorize: boolean }> }>(options.data, '/v1/rpc/permissions')
  if (options.json === true) {
    printJson(result)
    return
  }
  process.stdout.write('exposed: ' + (result.exposed.map(e => e.method + (e.authorize ? ' (+authorize)' : '')).join(', ') || 'nothing') + '\n')
  process.stdout.write(formatTable(['WHO', 'MAY CALL'], result.rules.map(r => [r.peer ?? `type ${r.type ?? '?'}`, r.allow.join(' ')])))
  if (result.rules.length === 0) {
    process.stdout.write('(no rules: every call is refused)\n')
  }
}
