/**
 * Issue #14, item 7: the outage of the issue, with real processes. An
 * issuer and four nodes started with the `tempus` CLI; the issuer is killed
 * (SIGKILL) for longer than a token's life, then started again on the same
 * data directory and port.
 *
 * One run mixes the policies, which is meaningful because each link's fate
 * is decided by its two ends: a link stays only if both ends keep it. The
 * sentinel S and edge E1 are `keep-established`; edges E2 and E3 are
 * `fail-closed`. So S–E1 must survive (same connection ids on both sides),
 * and the five links with a fail-closed end must drop and all be back within
 * 30 s of the issuer's return. At no point may any node's suspicion of an
 * honest peer rise above where it started, nor any peer be quarantined or
 * banned.
 *
 * The token lifetime is the shortest the issuer allows (`--token-ttl 2m`).
 * Waits are on the nodes' own APIs (polled, each with a bound), and the one
 * deliberate wait is the outage itself: until every node's own token has
 * lapsed and the fail-closed nodes have dropped their links.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import YAML from 'yaml'
import { killAll, spawnTempus, tempus } from '../fixtures/cli.ts'
import { eventually } from '../fixtures/wait.ts'
import type { LongRunning } from '../fixtures/cli.ts'

const ENV = { TEMPUS_PASSPHRASE: 'outage-test-passphrase', TEMPUS_ISSUER_PASSPHRASE: 'outage-test-issuer' }
/** the issuer's token lifetime (`--token-ttl 2m`) */
const TOKEN_LIFE_MS = 2 * 60_000
const OUTAGE_BOUND_MS = TOKEN_LIFE_MS + 30_000 + 60_000
/** the issue's promise: the mesh is whole within 30 s of an issuer's return */
const HEAL_BOUND_MS = 30_000

interface RunningNode {
  name: string
  policy: 'keep-established' | 'fail-closed'
  dir: string
  proc: LongRunning
  peerId: string
  addrs: string[]
  api: string
  apiToken: string
  /** warn lines about quarantines and bans seen on its stderr */
  punished: string[]
}

interface PeerRow { peerId: string, connected: boolean, admitted: boolean, suspicion: { score: number, state: string }, connectionIds: string[], lastConnectionEnd: unknown }

async function api<T> (node: RunningNode, path: string): Promise<T> {
  const res = await fetch(`${node.api}${path}`, { headers: { authorization: `Bearer ${node.apiToken}` }, signal: AbortSignal.timeout(5_000) })
  assert.equal(res.status, 200, `${node.name} ${path}: ${res.status}`)
  return await res.json() as T
}

const peersOf = async (node: RunningNode): Promise<PeerRow[]> => (await api<{ peers: PeerRow[] }>(node, '/v1/mesh/peers')).peers

describe('issuer outage with real processes (issue #14)', () => {
  const dirs: string[] = []
  after(async () => {
    await killAll()
    await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true })))
  })

  it('keep-established links survive, fail-closed links heal within 30 s of the issuer\'s return, no honest peer is charged', { timeout: 9 * 60_000 }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'tempus-outage-'))
    dirs.push(root)
    const iData = join(root, 'issuer')
    assert.equal((await tempus(['issuer', 'init', '--data', iData, '--overlay', 'outage-test', '--threshold', '1', '--json'], ENV)).code, 0)
    let issuer = spawnTempus(['issuer', 'start', '--data', iData, '--listen', '127.0.0.1:0', '--token-ttl', '2m', '--json'], ENV)
    const issuerUrl = JSON.parse(await issuer.nextLine(l => l.includes('"started"'))).url as string
    const issuerListen = new URL(issuerUrl).host

    const nodes: RunningNode[] = []
    const startNode = async (name: string, type: 'sentinel' | 'edge', policy: RunningNode['policy']): Promise<RunningNode> => {
      const dir = join(root, name)
      // every earlier node is a bootstrap peer: a full mesh of kept links, each redialled by the later node
      const bootstrap = nodes.flatMap(n => ['--bootstrap', n.addrs[0] as string])
      const init = await tempus(['init', '--data', dir, '--type', type, '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--json', ...bootstrap], ENV)
      assert.equal(init.code, 0, init.stderr)
      const configPath = join(dir, 'config.yaml')
      const config = YAML.parse(await readFile(configPath, 'utf8'))
      config.admission = { ...config.admission, issuerOutage: policy }
      await writeFile(configPath, YAML.stringify(config), { mode: 0o600 })
      const code = JSON.parse((await tempus(['issuer', 'code', '--data', iData, '--typ', type, '--json'], ENV)).stdout).code as string
      const enrolled = await tempus(['enroll', '--data', dir, '--issuer', issuerUrl, '--code', code], ENV)
      assert.equal(enrolled.code, 0, enrolled.stderr)
      const proc = spawnTempus(['start', '--data', dir, '--json', '--log-level', 'warn'], ENV)
      const punished: string[] = []
      proc.child.stderr?.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) {
          if (/peer (quarantined|banned)/.test(line)) punished.push(line)
        }
      })
      const started = JSON.parse(await proc.nextLine(l => l.includes('"started"')))
      const node: RunningNode = { name, policy, dir, proc, peerId: started.peerId, addrs: started.addrs, api: started.api, apiToken: (await readFile(join(dir, 'api-token'), 'utf8')).trim(), punished }
      nodes.push(node)
      return node
    }
    const S = await startNode('S', 'sentinel', 'keep-established')
    const E1 = await startNode('E1', 'edge', 'keep-established')
    await startNode('E2', 'edge', 'fail-closed')
    await startNode('E3', 'edge', 'fail-closed')

    /** every node connected to, and admitted by, every other */
    const whole = async (): Promise<boolean> => {
      for (const node of nodes) {
        const rows = await peersOf(node)
        for (const other of nodes.filter(n => n !== node)) {
          const row = rows.find(r => r.peerId === other.peerId)
          if (row?.connected !== true || !row.admitted) return false
        }
      }
      return true
    }
    await eventually(whole, 'the mesh of 4 is whole before the outage', 60_000, 500)

    // what each node thinks of each peer before the outage: no score may rise above it
    const baseline = new Map<string, number>()
    for (const node of nodes) {
      for (const row of await peersOf(node)) baseline.set(`${node.name}>${row.peerId}`, row.suspicion.score)
    }
    const charged: string[] = []
    const checkNoCharge = async (): Promise<void> => {
      for (const node of nodes) {
        for (const row of await peersOf(node)) {
          const before = baseline.get(`${node.name}>${row.peerId}`) ?? 0
          if (row.suspicion.score > before || row.suspicion.state !== 'ok') {
            charged.push(`${node.name} charged ${row.peerId}: ${before} -> ${row.suspicion.score} (${row.suspicion.state})`)
          }
        }
      }
    }
    const idsBetween = async (a: RunningNode, b: RunningNode): Promise<string[]> =>
      (await peersOf(a)).find(r => r.peerId === b.peerId)?.connectionIds ?? []
    const keptS = await idsBetween(S, E1)
    const keptE1 = await idsBetween(E1, S)
    assert.ok(keptS.length > 0 && keptE1.length > 0, 'S and E1 are connected before the outage')

    // the outage: SIGKILL, then wait until every token lapsed and the fail-closed nodes dropped every link
    issuer.child.kill('SIGKILL')
    await issuer.exited
    const failClosed = nodes.filter(n => n.policy === 'fail-closed')
    await eventually(async () => {
      await checkNoCharge()
      for (const node of nodes) {
        const health = await api<{ status: string, reasons?: string[] }>(node, '/healthz')
        if (health.reasons?.includes('no-token') !== true) return false
      }
      for (const node of failClosed) {
        if ((await api<{ connections: number }>(node, '/v1/status')).connections !== 0) return false
      }
      return true
    }, 'every token lapsed and the fail-closed nodes dropped their links', OUTAGE_BOUND_MS, 2_000)

    // keep-established on both ends: the very same connections, through the whole outage
    // a kept link cut by a charge says so: the charges and punishments come first
    assert.deepEqual(charged, [], 'no node charged an honest peer during the outage')
    assert.deepEqual(nodes.flatMap(n => n.punished), [], 'no quarantine, no ban during the outage')
    /** how the last connection between them ended, each side's view: what a failure must say */
    const ends = async (): Promise<string> => JSON.stringify({
      S: (await peersOf(S)).find(r => r.peerId === E1.peerId)?.lastConnectionEnd,
      E1: (await peersOf(E1)).find(r => r.peerId === S.peerId)?.lastConnectionEnd
    })
    assert.deepEqual((await idsBetween(S, E1)).filter(id => keptS.includes(id)), keptS, `S kept its connections to E1; ends: ${await ends()}`)
    assert.deepEqual((await idsBetween(E1, S)).filter(id => keptE1.includes(id)), keptE1, `E1 kept its connections to S; ends: ${await ends()}`)
    const sStatus = await api<{ admission: { issuerOutageSince: string | null, keptConnections: number } }>(S, '/v1/status')
    assert.ok(sStatus.admission.issuerOutageSince != null, 'S reports the outage')
    assert.ok(sStatus.admission.keptConnections > 0, 'S reports its kept connections')
    const health = await api<{ status: string, reasons: string[] }>(S, '/healthz')
    assert.equal(health.status, 'degraded')
    assert.ok(health.reasons.includes('issuer-unreachable'), `healthz: ${JSON.stringify(health)}`)

    // the issuer is back on the same data directory and port
    issuer = spawnTempus(['issuer', 'start', '--data', iData, '--listen', issuerListen, '--token-ttl', '2m', '--json'], ENV)
    await issuer.nextLine(l => l.includes('"started"'))
    await eventually(whole, 'the mesh is whole again within 30 s of the issuer\'s return', HEAL_BOUND_MS, 250)

    assert.deepEqual((await idsBetween(S, E1)).filter(id => keptS.includes(id)), keptS, `S still holds the kept connections once the outage is over; ends: ${await ends()}`)
    assert.deepEqual((await idsBetween(E1, S)).filter(id => keptE1.includes(id)), keptE1, `E1 still holds the kept connections once the outage is over; ends: ${await ends()}`)
    await checkNoCharge()
    assert.deepEqual(charged, [], 'no node charged an honest peer')
    assert.deepEqual(nodes.flatMap(n => n.punished), [], 'no quarantine, no ban')
    for (const node of nodes) {
      assert.deepEqual(await api(node, '/healthz'), { status: 'ok' }, `${node.name} is healthy again`)
    }
  })
})
