/**
 * One node process of the chaos harness (scripts/chaos.ts), started inside a
 * network namespace with `ip netns exec`. It is the node `tempus start`
 * runs (createTempusNode over a data directory, so bundles and anomalies
 * survive `kill -9`), with one difference: instead of an admin API on the
 * namespace's loopback, which the harness outside could not reach, it
 * reports what the node itself sees as JSON lines on stdout and takes
 * commands as JSON lines on stdin. Every figure the harness prints comes
 * from these lines: the node's own events and stores, stamped with the
 * node's clock (one machine, one clock).
 *
 * argv[2]: the path of a 0600 JSON file { config, key (base64 protobuf),
 * enrollment } written by the harness; the key never appears on a command line.
 */
import { readFile } from 'node:fs/promises'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { isNetworkError } from '../../src/cli/safety-net.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { createTempusNode } from '../../src/node/tempus-node.ts'
import { useBufferPool } from '../../src/cli/heap-settings.ts'

// the Buffer pool `tempus start` runs with (its heap flags come from the harness's command line)
useBufferPool(['start'])

const emit = (event: Record<string, unknown>): void => { process.stdout.write(JSON.stringify({ at: Date.now(), ...event }) + '\n') }

// an error no handler took: counted by the harness; a network-class one is
// survived (as the CLI's safety net does), anything else ends the process
const onUncaught = (err: unknown, origin: string): void => {
  const network = isNetworkError(err)
  emit({ event: 'uncaught', origin, network, name: (err as any)?.name, message: String((err as any)?.message ?? err).slice(0, 300) })
  if (!network) {
    process.exit(70)
  }
}
process.on('uncaughtException', err => { onUncaught(err, 'uncaughtException') })
process.on('unhandledRejection', reason => { onUncaught(reason, 'unhandledRejection') })

const { config, key, enrollment, dataDir } = JSON.parse(await readFile(process.argv[2] as string, 'utf8'))
const node = await createTempusNode(config, {
  logger: createLogger({ level: (process.env.TEMPUS_CHAOS_LOG ?? 'silent') as 'silent' }),
  privateKey: privateKeyFromProtobuf(Buffer.from(key, 'base64')),
  enrollment,
  dataDir
})
const connections = (): number => node.libp2p.getConnections().length
node.libp2p.addEventListener('peer:connect', evt => { emit({ event: 'connect', peer: evt.detail.toString(), connections: connections() }) })
node.libp2p.addEventListener('peer:disconnect', evt => { emit({ event: 'disconnect', peer: evt.detail.toString(), connections: connections() }) })
// a new connection's admission; not a token re-presented on a live one (no reconnect, and a line
// per peer per renewal: the largest share of what a node wrote to the harness)
node.admission.addEventListener('admitted', evt => { if (evt.detail.refreshed !== true) emit({ event: 'admitted', peer: evt.detail.peer }) })
node.admission.addEventListener('revocation-list', evt => { emit({ event: 'revocation-list', n: evt.detail.n, from: evt.detail.from }) })
node.admission.addEventListener('refused', evt => { emit({ event: 'admission-refused', peer: evt.detail.peer, reason: evt.detail.reason, direction: evt.detail.direction, ...(evt.detail.starved === true ? { starved: true } : {}) }) })
node.admission.addEventListener('revoked', evt => { emit({ event: 'revoked', peers: evt.detail }) })
node.admission.addEventListener('suspicion', evt => { emit({ event: 'suspicion', ...evt.detail }) })
node.admission.addEventListener('offence', evt => { emit({ event: 'offence', peer: evt.detail.peer, offence: evt.detail.offence, cause: evt.detail.cause, charged: evt.detail.charged, state: evt.detail.change.state }) })
node.gossip.addEventListener('anomaly', evt => { emit({ event: 'anomaly', id: evt.detail.id, via: evt.detail.via, timestamp: evt.detail.timestamp }) })
node.gossip.addEventListener('refused', evt => { emit({ event: 'gossip-refused', topic: evt.detail.topic, peer: evt.detail.peer, reason: evt.detail.reason }) })
node.dtn.addEventListener('bundle', evt => { emit({ event: 'bundle', id: evt.detail.id }) })
// a DTN refusal charged to a peer (bad-bundle): the reason, which the offence itself does not carry
node.dtn.addEventListener('refused', evt => { emit({ event: 'dtn-refused', peer: evt.detail.peer, reason: evt.detail.reason }) })
// with the token requests that failed so far, by kind: a token late after a heal is read against them
node.tokens.addEventListener('token', evt => { emit({ event: 'token', epoch: evt.detail.claims.ep, failures: { ...node.tokens.fetchFailures } }) })
// each failed token request, why, and when the next goes: a late token can be read request by request
node.tokens.addEventListener('failure', evt => { emit({ event: 'token-failure', code: evt.detail.code, retryInMs: evt.detail.retryInMs }) })
// each token request, timed: when it started, how long it took, and each HTTP request it made
// (path, replica, how long, how it ended), so a token late after a heal can be read request by
// request beside the node's loop lateness below; the IssuerClient's request method is wrapped
// here, in the harness (a private method: the node itself is not changed for it)
const issuerTrace: Array<{ path: string, url: string, ms: number, end: string }> = []
for (const [url, client] of (node.issuers as any).clients as Map<string, any>) {
  const request = client.request.bind(client)
  client.request = async (method: string, path: string, ...rest: unknown[]) => {
    const started = Date.now()
    try {
      const answer = await request(method, path, ...rest)
      issuerTrace.push({ path, url, ms: Date.now() - started, end: String(answer.status) })
      return answer
    } catch (err: any) {
      issuerTrace.push({ path, url, ms: Date.now() - started, end: String(err?.reason ?? err?.code ?? err?.name) })
      throw err
    }
  }
}
const token = node.issuers.token.bind(node.issuers)
node.issuers.token = async (...args: Parameters<typeof token>) => {
  const started = Date.now()
  issuerTrace.length = 0
  try {
    return await token(...args)
  } finally {
    emit({ event: 'token-request', startedAt: started, ms: Date.now() - started, requests: issuerTrace.filter(r => r.path.startsWith('/v1/challenge') || r.path === '/v1/token') })
  }
}
// how late this node's own loop ran, every 5 s when it ran more than 300 ms late at least once
const loopDelay = monitorEventLoopDelay({ resolution: 20 })
loopDelay.enable()
const lagCensus = setInterval(() => {
  const maxMs = loopDelay.max / 1e6
  if (maxMs > 300) {
    emit({ event: 'lag', maxMs: Math.round(maxMs), meanMs: Math.round(loopDelay.mean / 1e6), p90Ms: Math.round(loopDelay.percentile(90) / 1e6) })
  }
  loopDelay.reset()
}, 5_000)
lagCensus.unref()
// when this node learnt of a newer epoch (keys read from the issuer, or a peer's token of it): its token request follows
node.admission.verifier.addEventListener('epoch', evt => { emit({ event: 'epoch', epoch: evt.detail.epoch }) })
// when the node saw its interfaces change (a link back: addresses added), to read a reconnect against
node.libp2p.services.network.addEventListener('network:change', evt => { emit({ event: 'network-change', added: evt.detail.added.length, removed: evt.detail.removed.length, closed: evt.detail.closed }) })
// which sentinels the peer keeper keeps, which of those are connected, which it is failing to
// reach, and which lost peers it redials: a line when that changes (looked at every 2 s), so a
// slow reconnect can be read against what the keeper was doing
let keeperWas = ''
const keeperCensus = setInterval(() => {
  const keeper = node.libp2p.services.keeper
  const kept = [...keeper.keptSentinels].sort()
  const connected = new Set(node.libp2p.getConnections().map(c => c.remotePeer.toString()))
  const state = {
    sentinels: kept,
    connected: kept.filter(id => connected.has(id)),
    failing: kept.filter(id => !connected.has(id) && keeper.redialOf(peerIdFromString(id)) != null),
    // why each failing one failed last (its error's name and message start; the count of failures left out, or every dial would be a line)
    why: kept.filter(id => !connected.has(id)).map(id => keeper.redialOf(peerIdFromString(id))?.lastError?.slice(0, 100)).filter(x => x != null),
    lost: keeper.lostPeers()
  }
  const key = JSON.stringify(state)
  if (key !== keeperWas) {
    keeperWas = key
    emit({ event: 'keeper', ...state })
  }
}, 2_000)
keeperCensus.unref()

/** What the node holds now, read from its own stores. */
const report = (): Record<string, unknown> => {
  const ids = (box: 'inbox' | 'outbox' | 'carried'): string[] => (node.dtn.list(box, 10_000) as Array<{ id: string }>).map(b => b.id)
  return {
    event: 'report',
    anomalies: node.gossip.list({ limit: 10_000 }).map(a => a.id),
    inbox: ids('inbox'),
    held: [...ids('outbox'), ...ids('carried')],
    connections: connections()
  }
}

const handle = async (command: Record<string, any>): Promise<void> => {
  switch (command.cmd) {
    case 'anomaly': {
      const a = await node.gossip.publish({ kind: 'chaos.probe', digest: command.digest, severity: 1, lifetimeMs: command.lifetimeMs })
      emit({ event: 'published', ref: command.ref, id: a.id, timestamp: a.timestamp, expires: a.expires })
      return
    }
    case 'bundle': {
      const id = await node.dtn.send(command.to, new TextEncoder().encode(command.ref), { lifetimeMs: command.lifetimeMs })
      emit({ event: 'sent', ref: command.ref, id, to: command.to })
      return
    }
    case 'report':
      emit(report())
  }
}

let lines = ''
process.stdin.on('data', (chunk: Buffer) => {
  lines += chunk.toString()
  let nl: number
  while ((nl = lines.indexOf('\n')) >= 0) {
    const line = lines.slice(0, nl)
    lines = lines.slice(nl + 1)
    let command: Record<string, any>
    try {
      command = JSON.parse(line)
    } catch {
      continue
    }
    handle(command).catch(err => { emit({ event: 'refused', ref: command.ref, cmd: command.cmd, name: err?.name, message: String(err?.message).slice(0, 300) }) })
  }
})

emit({ event: 'started', peerId: node.peerId.toString(), addrs: node.getMultiaddrs() })

process.once('SIGTERM', () => {
  node.stop().finally(() => { process.exit(0) })
})
