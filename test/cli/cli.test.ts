import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { killAll, spawnTempus, tempus } from '../fixtures/cli.ts'

const ENV = { TEMPUS_PASSPHRASE: 'cli-test-passphrase', TEMPUS_ISSUER_PASSPHRASE: 'cli-test-issuer' }

describe('tempus CLI', () => {
  const dirs: string[] = []
  const tmp = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'tempus-cli-')); dirs.push(d); return d }
  after(async () => {
    await killAll()
    await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true })))
  })

  it('issuer init/start/code, init, enroll, id, start, status, peers, then a clean SIGTERM', async () => {
    const root = await tmp()
    const sData = join(root, 's')
    const eData = join(root, 'e')
    const iData = join(root, 'issuer')
    const issuerInit = await tempus(['issuer', 'init', '--data', iData, '--overlay', 'cli-test', '--threshold', '1', '--json'], ENV)
    assert.equal(issuerInit.code, 0, issuerInit.stderr)
    assert.equal(JSON.parse(issuerInit.stdout).overlay, 'cli-test')
    const issuer = spawnTempus(['issuer', 'start', '--data', iData, '--listen', '127.0.0.1:0', '--json'], ENV)
    const issuerUrl = JSON.parse(await issuer.nextLine(l => l.includes('"started"'))).url as string
    const code = async (typ: string): Promise<string> => {
      const res = await tempus(['issuer', 'code', '--data', iData, '--typ', typ, '--json'], ENV)
      assert.equal(res.code, 0, res.stderr)
      return JSON.parse(res.stdout).code
    }

    const init = await tempus(['init', '--data', sData, '--type', 'sentinel', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--json'], ENV)
    assert.equal(init.code, 0, init.stderr)
    const { peerId } = JSON.parse(init.stdout)
    assert.match(peerId, /^12D3KooW/)
    assert.equal((await stat(join(sData, 'config.yaml'))).mode & 0o777, 0o600)
    assert.ok(!init.stderr.includes('development passphrase'), 'no dev warning when a passphrase is set')

    // not enrolled yet: default deny, the node refuses to start
    const early = await tempus(['start', '--data', sData], ENV)
    assert.equal(early.code, 1)
    assert.match(early.stderr, /not enrolled/)
    // a code for another type is refused
    const wrongType = await tempus(['enroll', '--data', sData, '--issuer', issuerUrl, '--code', await code('edge')], ENV)
    assert.equal(wrongType.code, 2)
    assert.match(wrongType.stderr, /not for a node of type sentinel.*the code was not used/)
    const enrolled = await tempus(['enroll', '--data', sData, '--issuer', issuerUrl, '--code', await code('sentinel'), '--json'], ENV)
    assert.equal(enrolled.code, 0, enrolled.stderr)
    assert.equal(JSON.parse(enrolled.stdout).peerId, peerId)

    const id = await tempus(['id', '--data', sData, '--json'], ENV)
    assert.equal(JSON.parse(id.stdout).peerId, peerId)
    const wrong = await tempus(['id', '--data', sData], { TEMPUS_PASSPHRASE: 'wrong' })
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /wrong passphrase/)
    assert.ok(!wrong.stderr.includes('cli-test-passphrase'))

    const sentinel = spawnTempus(['start', '--data', sData, '--json', '--log-level', 'warn'], ENV)
    const started = JSON.parse(await sentinel.nextLine(l => l.includes('"started"')))
    assert.equal(started.peerId, peerId)
    assert.match(started.api, /^http:\/\/127\.0\.0\.1:\d+$/)

    assert.equal((await tempus(['init', '--data', eData, '--type', 'edge', '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', started.addrs[0]], ENV)).code, 0)
    assert.equal((await tempus(['enroll', '--data', eData, '--issuer', issuerUrl, '--code', await code('edge')], ENV)).code, 0)
    const edge = spawnTempus(['start', '--data', eData, '--json', '--log-level', 'warn'], ENV)
    await edge.nextLine(l => l.includes('"started"'))

    const status = JSON.parse((await tempus(['status', '--data', sData, '--json'])).stdout)
    assert.equal(status.peerId, peerId)
    assert.equal(status.type, 'sentinel')
    assert.equal(status.dhtMode, 'server')
    assert.ok(Date.parse(status.admission.credentialExpiresAt) > Date.now(), 'the credential\'s expiry is shown')
    assert.equal(status.admission.credentialRefused, null)
    assert.match((await tempus(['status', '--data', sData])).stdout, /credential expires\s+\d{4}-/)

    let peers: any[] = []
    for (let i = 0; i < 100 && !peers.some(p => p.connected && p.type === 'edge'); i++) {
      const res = await tempus(['peers', '--data', sData, '--json'])
      assert.equal(res.code, 0, res.stderr)
      peers = JSON.parse(res.stdout).peers
    }
    const edgeEntry = peers.find(p => p.connected && p.type === 'edge')
    assert.ok(edgeEntry != null, 'the sentinel lists the edge')
    assert.equal(edgeEntry.admitted, true)
    const table = await tempus(['peers', '--data', sData])
    assert.match(table.stdout, /^PEER\s+TYPE\s+CONNECTED\s+ADMITTED\s+SUSPICION\s+WHY\s+LAST SEEN\s+LAST END\s+REDIAL\s+ADDRESSES/)
    assert.deepEqual(edgeEntry.suspicion.offences, [], 'why a score rose: nothing yet')
    assert.equal(edgeEntry.suspicion.quarantinedUntil, null)
    const cleared = await tempus(['peers', 'clear', edgeEntry.peerId, '--data', sData, '--json'])
    assert.equal(cleared.code, 0, cleared.stderr)
    assert.deepEqual(JSON.parse(cleared.stdout).suspicion, { score: 0, state: 'ok', quarantinedUntil: null, offences: [] })
    const clearedAll = await tempus(['peers', 'clear', '--all', '--data', sData, '--json'])
    assert.equal(clearedAll.code, 0, clearedAll.stderr)
    assert.ok(Array.isArray(JSON.parse(clearedAll.stdout).cleared))
    const neither = await tempus(['peers', 'clear', '--data', sData])
    assert.equal(neither.code, 2)
    assert.match(neither.stderr, /needs a PeerId.*or --all/)

    // a bundle from the sentinel to the edge, by the CLI, through the admin APIs
    const sent = await tempus(['bundle', 'send', '--data', sData, '--to', edgeEntry.peerId, '--text', 'hello edge', '--lifetime', '10m', '--json'])
    assert.equal(sent.code, 0, sent.stderr)
    const bundleId: string = JSON.parse(sent.stdout).id
    let inbox: any[] = []
    for (let i = 0; i < 100 && !inbox.some(b => b.id === bundleId); i++) {
      const res = await tempus(['bundle', 'list', '--data', eData, '--json'])
      assert.equal(res.code, 0, res.stderr)
      inbox = JSON.parse(res.stdout).bundles
    }
    assert.equal(Buffer.from(inbox.find(b => b.id === bundleId)?.payload ?? '', 'base64').toString(), 'hello edge')
    assert.match((await tempus(['bundle', 'list', '--data', eData])).stdout, /"hello edge"/)
    assert.match((await tempus(['bundle', 'list', '--data', sData, '--box', 'outbox'])).stdout, new RegExp(`^ID\\s+TO[\\s\\S]*${bundleId}`))
    const badSend = await tempus(['bundle', 'send', '--data', sData, '--to', 'nowhere', '--text', 'x'])
    assert.equal(badSend.code === 0, false)
    assert.match(badSend.stderr, /destination/)

    const audit = await tempus(['issuer', 'audit', 'verify', '--data', iData, '--json'], ENV)
    assert.equal(audit.code, 0, audit.stderr)
    assert.equal(JSON.parse(audit.stdout).ok, true)

    for (const proc of [edge, sentinel, issuer]) {
      proc.child.kill('SIGTERM')
      assert.equal(await proc.exited, 0)
    }
    await assert.rejects(stat(join(sData, 'node.json')), { code: 'ENOENT' })
    const down = await tempus(['status', '--data', sData])
    assert.equal(down.code, 1)
    assert.match(down.stderr, /no node is running/)
  })

  it('refuses bad input with a clear message and a non-zero exit', async () => {
    const root = await tmp()
    const badType = await tempus(['init', '--data', join(root, 'x'), '--type', 'router'])
    assert.notEqual(badType.code, 0)
    assert.match(badType.stderr, /router/)
    const badAddr = await tempus(['init', '--data', join(root, 'y'), '--type', 'edge', '--bootstrap', '/ip4/1.2.3.4/tcp/1'])
    assert.equal(badAddr.code, 2)
    assert.match(badAddr.stderr, /bootstrap\.0/)
    const badApi = await tempus(['init', '--data', join(root, 'z'), '--type', 'edge', '--api', '0.0.0.0:7000'])
    assert.equal(badApi.code, 2)
    assert.match(badApi.stderr, /loopback/)
    const notInit = await tempus(['start', '--data', join(root, 'none')])
    assert.equal(notInit.code, 2)
    assert.match(notInit.stderr, /config\.yaml/)
  })

  it('tempus dev --overlays 2 runs two overlays whose bridges federate: anomalies of each appear in the other; tempus federation status and forget reach a running bridge', async () => {
    const dev = spawnTempus(['dev', '--overlays', '2', '--duration', '20s', '--json'])
    const ready = JSON.parse(await dev.nextLine(l => l.includes('"ready"'), 60_000))
    assert.deepEqual(ready.overlays.map((o: any) => o.id), ['dev-a', 'dev-b'])
    assert.equal(ready.nodes.length, 16)
    // the federation CLI against the running bridges: a's bridge lists its fresh pin of b's
    const bridgeA = ready.nodes.find((n: any) => n.name.startsWith('a.') && n.type === 'bridge')
    const bridgeB = ready.nodes.find((n: any) => n.name.startsWith('b.') && n.type === 'bridge')
    let pins: any[] = []
    for (let i = 0; i < 200 && !pins.some(p => p.remoteId === bridgeB.peerId && p.state === 'fresh'); i++) {
      const res = await tempus(['federation', 'status', '--data', bridgeA.dataDir, '--json'])
      assert.equal(res.code, 0, res.stderr)
      pins = JSON.parse(res.stdout).pins
    }
    assert.equal(pins.find(p => p.remoteId === bridgeB.peerId)?.overlay, 'dev-b')
    assert.match((await tempus(['federation', 'status', '--data', bridgeA.dataDir])).stdout, /^overlay dev-a; federation endpoint \/ip4\//)
    // once anomalies have crossed both ways (listed by the CLI at an edge on each side, re-published
    // by the bridge with the other overlay's provenance), a forgets the pin
    const crossedTo = async (prefix: string, from: string): Promise<boolean> => {
      // the last edge: the dev traffic takes the first one offline for a while
      const edge = ready.nodes.filter((n: any) => n.name.startsWith(prefix) && n.type === 'edge').at(-1)
      for (let i = 0; i < 300; i++) {
        const res = await tempus(['anomaly', 'list', '--data', edge.dataDir, '--json'])
        assert.equal(res.code, 0, res.stderr)
        if (JSON.parse(res.stdout).anomalies.some((a: any) => a.provenance?.overlay === from)) {
          return true
        }
      }
      return false
    }
    assert.ok(await crossedTo('b.', 'dev-a'), 'an anomaly of dev-a listed at an edge of dev-b')
    assert.ok(await crossedTo('a.', 'dev-b'), 'an anomaly of dev-b listed at an edge of dev-a')
    const forgot = await tempus(['federation', 'forget', bridgeB.peerId, '--data', bridgeA.dataDir, '--json'])
    assert.equal(forgot.code, 0, forgot.stderr)
    assert.deepEqual(JSON.parse(forgot.stdout), { forgotten: true })
    const summary = JSON.parse(await dev.nextLine(l => l.includes('"summary"'), 90_000))
    assert.equal(await dev.exited, 0)
    assert.deepEqual(summary.overlays.map((o: any) => [o.id, o.nodes]), [['dev-a', 8], ['dev-b', 8]])
    for (const o of summary.overlays) {
      assert.ok(o.anomaliesReceivedFromOtherOverlay >= 1, `${o.id} received ${o.anomaliesReceivedFromOtherOverlay} from the other overlay`)
      assert.ok(o.bundlesReceivedFromOtherOverlay >= 1, `${o.id} received ${o.bundlesReceivedFromOtherOverlay} bundles from the other overlay`)
    }
  })

  it('tempus federation anchor add writes a validated anchor to the config; status needs a running node', async () => {
    const root = await tmp()
    const bData = join(root, 'b')
    assert.equal((await tempus(['init', '--data', bData, '--type', 'bridge', '--no-mdns', '--json'], ENV)).code, 0)
    const key = Buffer.alloc(32, 7).toString('base64url')
    const added = await tempus(['federation', 'anchor', 'add', '--data', bData, '--overlay', 'beta', '--root', key, '--json'])
    assert.equal(added.code, 0, added.stderr)
    assert.deepEqual(JSON.parse(added.stdout).live, false)
    // again for the same overlay: replaced, not doubled
    assert.equal((await tempus(['federation', 'anchor', 'add', '--data', bData, '--overlay', 'beta', '--root', key])).code, 0)
    const config = await readFile(join(bData, 'config.yaml'), 'utf8')
    assert.equal(config.split('overlay: beta').length, 2)
    assert.match(config, new RegExp(`root: ${key}`))
    const bad = await tempus(['federation', 'anchor', 'add', '--data', bData, '--overlay', 'beta', '--root', 'nope'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /root/)
    const down = await tempus(['federation', 'status', '--data', bData])
    assert.equal(down.code, 1)
    assert.match(down.stderr, /no node is running/)
  })

  it('tempus dev runs a mesh of 8 nodes in which every node has at least 2 peers and the anomalies an edge published, and an edge that was offline gets the bundle sent to it', async () => {
    const dev = spawnTempus(['dev', '--duration', '16s', '--json'])
    const ready = JSON.parse(await dev.nextLine(l => l.includes('"ready"')))
    assert.equal(ready.nodes.length, 8)
    assert.match(ready.issuer.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.deepEqual(ready.nodes.map((n: any) => n.type).sort(), ['bridge', 'edge', 'edge', 'edge', 'edge', 'edge', 'sentinel', 'sentinel'])
    for (const n of ready.nodes) {
      assert.deepEqual(Object.keys(n).sort(), ['addrs', 'api', 'apiToken', 'dataDir', 'name', 'peerId', 'type'])
    }
    // the ready line's API and token work
    const first = ready.nodes[0]
    const res = await fetch(`${first.api}/v1/status`, { headers: { authorization: `Bearer ${first.apiToken}` } })
    assert.equal((await res.json() as any).peerId, first.peerId)

    const summary = JSON.parse(await dev.nextLine(l => l.includes('"summary"'), 60_000))
    assert.equal(await dev.exited, 0)
    assert.equal(summary.nodes.length, 8)
    for (const n of summary.nodes) {
      assert.ok(n.peers >= 2, `${n.name} has ${n.peers} peers`)
      assert.equal(n.admittedPeers, n.peers, `${n.name}: every peer admitted`)
      assert.ok(n.rpc != null && Number.isInteger(n.rpc.ok) && Number.isInteger(n.rpc.refused))
      // an edge publishes an anomaly every few seconds: every node shows what spread (the edge
      // that was offline catches up when it comes back)
      assert.ok(n.anomalies >= 1, `${n.name} holds ${n.anomalies} anomalies`)
    }
    assert.ok(summary.nodes.reduce((a: number, n: any) => a + n.rpc.ok, 0) > 0, 'granted calls went through')
    // an edge went away at 2 s, a bundle was sent to it at 4 s, it came back at 8 s
    assert.equal(summary.bundles.sentToOfflineNodes, 1)
    assert.equal(summary.bundles.delivered, 1)
    assert.equal(summary.nodes.reduce((a: number, n: any) => a + n.bundles.received, 0), 1)
    await assert.rejects(readFile(join(ready.root, 'sentinel-1', 'node.json')), { code: 'ENOENT' })
  })
})
