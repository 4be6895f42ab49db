import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { createBundle, toWire } from '../../src/dtn/bundle.ts'
import { signReceipt } from '../../src/dtn/receipt.ts'
import { DTN_PROTOCOL } from '../../src/dtn/constants.ts'
import { DtnFrame } from '../../src/dtn/pb/dtn.ts'
import { BundleStore } from '../../src/dtn/store.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { DATA_FILES } from '../../src/node/constants.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'
import type { DeliveredBundle } from '../../src/dtn/index.ts'
import type { Fragment } from '../../src/dtn/bundle.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { PrivateKey } from '@libp2p/interface'

const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }

function collect (node: TempusNode): DeliveredBundle[] {
  const got: DeliveredBundle[] = []
  node.dtn.addEventListener('bundle', evt => { got.push(evt.detail) })
  return got
}

describe('delay-tolerant bundles', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  /** start a node with a collector attached first: a bundle may arrive during start-up */
  async function receiver (init: Parameters<TestNet['node']>[0] & {}): Promise<{ node: TempusNode, got: DeliveredBundle[], arrivals: Array<{ offset: number, from: string }> }> {
    const node = await net.node({ ...init, options: { ...init.options, start: false } })
    const got = collect(node)
    const arrivals: Array<{ offset: number, from: string }> = []
    node.dtn.addEventListener('stored', evt => { arrivals.push(evt.detail) })
    await node.start()
    return { node, got, arrivals }
  }

  /** a node that can stop and come back as itself (same key, same data directory) */
  async function identity (): Promise<{ key: PrivateKey, id: string, dataDir: string }> {
    const key = await generateKeyPair('Ed25519')
    return { key, id: peerIdFromPrivateKey(key).toString(), dataDir: await net.tempDir() }
  }

  it('A → B while B is offline: B returns and gets it exactly once; a receipt reaches A; a restart delivers nothing again', async () => {
    const a = await net.node({ type: 'edge', ...QUIET })
    const b = await identity()
    // B was enrolled and online once, then went away
    let bNode = await net.node({ type: 'edge', ...QUIET, options: { dataDir: b.dataDir, privateKey: b.key } })
    await bNode.stop()
    const payload = Buffer.from('hello from A, while you were away')
    const id = await a.dtn.send(b.id, payload, { lifetimeMs: 60_000 })
    assert.equal((a.dtn.list('outbox')[0] as { id: string }).id, id)
    const lateCopy = a.dtn.store.fragmentsOf(id, Date.now())
    const receipt = waitForEvent(a.dtn, 'receipt', evt => evt.detail.id === id, 30_000)
    const first = await receiver({ type: 'edge', bootstrap: a.getMultiaddrs(), ...QUIET, options: { dataDir: b.dataDir, privateKey: b.key } })
    bNode = first.node
    const got = first.got
    await eventually(() => got.length >= 1, 'B to receive it', 30_000, 20)
    assert.equal(got[0]?.id, id)
    assert.equal(got[0]?.source, a.peerId.toString())
    assert.deepEqual(Buffer.from(got[0]?.payload ?? []), payload)
    assert.equal((await receipt).detail.destination, b.id)
    assert.ok((a.dtn.list('outbox')[0] as { deliveredAt?: number }).deliveredAt != null)
    // the copy at A was released once B held it
    assert.equal(a.dtn.status().fragments, 0)
    // a late copy (as another carrier would hold) offered again: B does not
    // take it, answers with its receipt, and A releases it; nor does a restart deliver it
    a.dtn.store.add([{ fragments: lateCopy }], Date.now())
    assert.equal(a.dtn.status().fragments, 1)
    const duplicatesBefore = bNode.dtn.status().duplicates
    await a.dtn.sync(bNode.peerId)
    assert.equal(a.dtn.status().fragments, 0, 'released by the receipt B answered with')
    assert.equal(bNode.dtn.status().duplicates, duplicatesBefore, 'not even sent')
    assert.equal(got.length, 1)
    await bNode.stop()
    const second = await receiver({ type: 'edge', bootstrap: a.getMultiaddrs(), ...QUIET, options: { dataDir: b.dataDir, privateKey: b.key } })
    bNode = second.node
    const again = second.got
    await eventually(() => a.admission.admitted.has(b.id), 'B back')
    await a.dtn.sync(bNode.peerId)
    await bNode.dtn.sync(a.peerId)
    assert.deepEqual(again, [])
    assert.equal((bNode.dtn.list('inbox') as Array<{ id: string }>).filter(e => e.id === id).length, 1)
    await Promise.all([a.stop(), bNode.stop()])
  })

  it('A → C through carrier B, A and C never online together; the receipt releases B\'s copy and reaches A', async () => {
    const b = await net.node({ type: 'sentinel', ...QUIET })
    const aId = await identity()
    const c = await identity()
    let cNode = await net.node({ type: 'edge', ...QUIET, options: { dataDir: c.dataDir, privateKey: c.key } })
    await cNode.stop()
    let a = await net.node({ type: 'edge', bootstrap: b.getMultiaddrs(), ...QUIET, options: { dataDir: aId.dataDir, privateKey: aId.key } })
    const stored = waitForEvent(b.dtn, 'stored', () => true, 30_000)
    const id = await a.dtn.send(c.id, Buffer.from('carried'), { lifetimeMs: 120_000 })
    assert.equal((await stored).detail.id, id)
    // B holds half of A's copies: a carrier in the wait phase would hold one
    assert.equal((b.dtn.list('carried')[0] as { copies: number }).copies, 4)
    await a.stop()
    const r = await receiver({ type: 'edge', bootstrap: b.getMultiaddrs(), ...QUIET, options: { dataDir: c.dataDir, privateKey: c.key } })
    cNode = r.node
    const got = r.got
    await eventually(() => got.length === 1, 'C to receive it through B', 30_000, 20)
    assert.equal(got[0]?.source, aId.id)
    assert.deepEqual(Buffer.from(got[0]?.payload ?? []).toString(), 'carried')
    await eventually(() => b.dtn.status().fragments === 0 && b.dtn.status().receipts === 1, 'the receipt to release B\'s copy', 30_000, 20)
    await cNode.stop()
    a = await net.node({ type: 'edge', bootstrap: b.getMultiaddrs(), ...QUIET, options: { dataDir: aId.dataDir, privateKey: aId.key } })
    await eventually(() => (a.dtn.list('outbox')[0] as { deliveredAt?: number } | undefined)?.deliveredAt != null, 'the receipt at A', 30_000, 20)
    assert.equal(a.dtn.status().fragments, 0, 'A released its own copies')
    await Promise.all([a.stop(), b.stop()])
  })

  it('an expired bundle is gone from every store and never delivered', async () => {
    const b = await net.node({ type: 'sentinel', ...QUIET })
    const a = await net.node({ type: 'edge', bootstrap: b.getMultiaddrs(), ...QUIET })
    const c = await identity()
    await (await net.node({ type: 'edge', ...QUIET, options: { dataDir: c.dataDir, privateKey: c.key } })).stop()
    const stored = waitForEvent(b.dtn, 'stored', () => true, 30_000)
    await a.dtn.send(c.id, Buffer.from('short-lived'), { lifetimeMs: 1_500 })
    await stored
    const expiresAt = (b.dtn.list('carried')[0] as { expiresAt: number }).expiresAt
    // bytes fall only when the sweep deletes the rows (reads skip expired rows before that)
    await eventually(() => a.dtn.status().bytes === 0 && b.dtn.status().bytes === 0 && a.dtn.status().outbox === 0, 'both stores to delete it', 10_000, 20)
    assert.ok(Date.now() >= expiresAt, 'not before its expiry')
    const { node: cNode, got } = await receiver({ type: 'edge', bootstrap: b.getMultiaddrs(), ...QUIET, options: { dataDir: c.dataDir, privateKey: c.key } })
    await eventually(() => b.admission.admitted.has(c.id), 'C admitted at B')
    await b.dtn.sync(cNode.peerId)
    assert.deepEqual(got, [])
    assert.equal(cNode.dtn.list('inbox').length, 0)
    await Promise.all([a.stop(), b.stop(), cNode.stop()])
  })

  it('10 MB through two carriers: fragments from both, out of order, byte-identical at C, each stored once', async () => {
    const dtn = { fragmentSize: 256 * 1024 }
    const b1 = await net.node({ type: 'sentinel', ...QUIET, dtn })
    const b2 = await net.node({ type: 'bridge', ...QUIET, dtn })
    const a = await net.node({ type: 'edge', bootstrap: [...b1.getMultiaddrs(), ...b2.getMultiaddrs()], ...QUIET, dtn })
    await eventually(() => a.admission.admitted.has(b1.peerId.toString()) && a.admission.admitted.has(b2.peerId.toString()), 'A connected to both carriers')
    const c = await identity()
    await (await net.node({ type: 'edge', ...QUIET, dtn, options: { dataDir: c.dataDir, privateKey: c.key } })).stop()
    const payload = randomBytes(10 * 1024 * 1024)
    const id = await a.dtn.send(c.id, payload, { lifetimeMs: 300_000 })
    // 10 MiB and the encryption tag, in 256 KiB fragments
    const fragments = (a.dtn.list('outbox')[0] as { fragments: number }).fragments
    assert.equal(fragments, 41)
    await eventually(() => b1.dtn.status().fragments === fragments && b2.dtn.status().fragments === fragments, 'both carriers to hold every fragment', 60_000, 50)
    await a.stop()
    // each carrier met A only briefly: B1 keeps the even fragments, B2 the odd ones
    for (let i = 0; i < fragments; i++) {
      (i % 2 === 0 ? b2 : b1).dtn.store.remove(id, i * 256 * 1024)
    }
    const { node: cNode, got, arrivals } = await receiver({ type: 'edge', bootstrap: [...b1.getMultiaddrs(), ...b2.getMultiaddrs()], ...QUIET, dtn, options: { dataDir: c.dataDir, privateKey: c.key } })
    await eventually(() => got.length === 1, 'C to reassemble it', 60_000, 50)
    assert.equal(createHash('sha256').update(got[0]?.payload ?? new Uint8Array()).digest('hex'), createHash('sha256').update(payload).digest('hex'))
    assert.ok(Buffer.from(got[0]?.payload ?? []).equals(payload))
    assert.equal(arrivals.length, fragments, 'each fragment stored once')
    assert.equal(cNode.dtn.status().duplicates, 0, 'and sent to C once: no fragment came from both carriers')
    assert.equal(new Set(arrivals.map(x => x.offset)).size, fragments)
    assert.deepEqual(new Set(arrivals.map(x => x.from)), new Set([b1.peerId.toString(), b2.peerId.toString()]))
    const order = arrivals.map(x => x.offset)
    assert.notDeepEqual(order, [...order].sort((x, y) => x - y), 'fragments arrived out of order')
    // the receipt releases both carriers
    await eventually(() => b1.dtn.status().fragments === 0 && b2.dtn.status().fragments === 0, 'both carriers released', 30_000, 50)
    await Promise.all([b1.stop(), b2.stop(), cNode.stop()])
  })

  it('a bundle for a type reaches every node of that type and no other', async () => {
    const hub = await net.node({ type: 'sentinel', ...QUIET })
    const bootstrap = hub.getMultiaddrs()
    const edges = await Promise.all([0, 1, 2].map(async () => net.node({ type: 'edge', bootstrap, ...QUIET })))
    const bridge = await net.node({ type: 'bridge', bootstrap, ...QUIET })
    const got = edges.map(collect)
    await eventually(() => [...edges, bridge].every(n => hub.admission.admitted.has(n.peerId.toString())), 'all admitted at the hub')
    const id = await bridge.dtn.send('edge', Buffer.from('to every edge'))
    await eventually(() => got.every(g => g.length === 1 && g[0]?.id === id), 'every edge to receive it', 30_000, 20)
    // the sentinel carries it (the bridge may have reached an edge directly first, so wait for it) but is not a destination
    await eventually(() => hub.dtn.status().fragments === 1, 'the sentinel to carry it', 30_000, 20)
    assert.equal(hub.dtn.list('inbox').length, 0)
    assert.equal(bridge.dtn.list('inbox').length, 0)
    await Promise.all([hub, bridge, ...edges].map(async n => n.stop()))
  })

  it('malformed, oversize, forged and replayed bundles are refused, counted against the sender, and nothing is stored', async () => {
    const target = await net.node({ type: 'sentinel', ...QUIET })
    const attackerKey = await generateKeyPair('Ed25519')
    const attacker = await net.node({ type: 'edge', bootstrap: target.getMultiaddrs(), ...QUIET, options: { privateKey: attackerKey } })
    await eventually(() => target.admission.admitted.has(attacker.peerId.toString()), 'attacker admitted')
    const me = attacker.peerId.toString()
    const refused: string[] = []
    target.dtn.addEventListener('refused', evt => { if (evt.detail.peer === me) refused.push(evt.detail.reason) })
    const someone = await identity()
    const own = attacker.admission.ownToken
    assert.ok(own != null)
    const make = (payload: Uint8Array, key: PrivateKey = attackerKey, peerId = me): Fragment =>
      (createBundle({ privateKey: key, peerId, evidence: own }, { kind: 'peer', peer: someone.id }, payload, { lifetimeMs: 60_000, hopLimit: 4, copies: 2 }, Date.now())[0] as Fragment)
    /** one raw session: an offer for the fragment, then the fragment as given */
    const session = async (f: Fragment, wire = toWire(f, { hops: 1, copies: 1 })): Promise<boolean | undefined> => {
      const stream = await attacker.libp2p.dialProtocol(target.peerId, DTN_PROTOCOL)
      const lp = lpStream(stream, { maxDataLength: 4 * 1024 * 1024 })
      try {
        await lp.write(DtnFrame.encode({ offer: { keys: [{ id: Buffer.from(f.id, 'hex'), offset: BigInt(f.offset), length: wire.payload.length }], receipts: [] } }))
        const want = DtnFrame.decode(await lp.read()).want
        if (want == null || want.keys.length === 0) {
          return undefined
        }
        await lp.write(DtnFrame.encode({ bundle: wire }))
        return DtnFrame.decode(await lp.read()).ack?.stored
      } catch {
        return false
      } finally {
        stream.abort(new Error('done'))
      }
    }
    const before = target.admission.suspicion.score(me)
    // a good one is taken, and its replay is not even asked for
    const good = make(randomBytes(100))
    assert.equal(await session(good), true)
    assert.equal(await session(good), undefined)
    // forged: the payload changed after signing
    const forged = make(randomBytes(100))
    const w = toWire(forged, { hops: 1, copies: 1 })
    assert.equal(await session(forged, { ...w, payload: randomBytes(100) }), false)
    // posing as another source: signed by another key
    const other = await generateKeyPair('Ed25519')
    const posing = make(randomBytes(100), other, me)
    assert.equal(await session(posing), false)
    // malformed: a header that does not decode
    const mal = make(randomBytes(100))
    assert.equal(await session(mal, { ...toWire(mal, { hops: 1, copies: 1 }), header: new Uint8Array([0xff, 0xff, 0xff, 0xff]) }), false)
    // oversize: a frame over the limit
    const big = make(randomBytes(100))
    assert.equal(await session(big, { ...toWire(big, { hops: 1, copies: 1 }), payload: randomBytes(2 * 1024 * 1024) }), false)
    // raw garbage instead of an offer
    const raw = await attacker.libp2p.dialProtocol(target.peerId, DTN_PROTOCOL)
    const rlp = lpStream(raw)
    await rlp.write(randomBytes(64)).catch(() => {})
    await rlp.read().catch(() => {})
    raw.abort(new Error('done'))
    // a receipt for the held bundle, signed by a key that is not its destination: dropped, the bundle stays
    const squat = signReceipt(attackerKey, me, good, Date.now())
    const rs = await attacker.libp2p.dialProtocol(target.peerId, DTN_PROTOCOL)
    const rlp0 = lpStream(rs)
    await rlp0.write(DtnFrame.encode({ offer: { keys: [], receipts: [squat.wire] } }))
    await rlp0.read()
    rs.abort(new Error('done'))
    assert.equal(target.dtn.status().receipts, 0)
    assert.equal(target.dtn.status().fragments, 1, 'the squatted receipt released nothing')
    // routing state is not signed: a carrier claiming 1000 copies hands on at most the source's 2
    const greedy = make(randomBytes(100))
    assert.equal(await session(greedy, toWire(greedy, { hops: 0, copies: 1000 })), true)
    const held = target.dtn.store.fragment(greedy.id, 0, Date.now())
    assert.equal(held?.copies, 2)
    assert.equal(held?.hops, 1, 'a copy from its source has taken one transfer at least')
    target.dtn.store.removeBundle(greedy.id)
    await eventually(() => refused.length >= 5, 'five refusals', 10_000, 20)
    assert.deepEqual(refused.slice(0, 4), ['bad-signature', 'bad-signature', 'malformed', 'oversize'])
    assert.ok(target.admission.suspicion.score(me) >= before + 24, `suspicion rose: ${before} → ${target.admission.suspicion.score(me)} ${refused.join(',')}`)
    assert.equal(target.dtn.status().fragments, 1, 'only the good one is held')
    assert.ok(target.dtn.status().refused['bad-signature'] === 2)
    await Promise.all([target.stop(), attacker.stop()])
  })
})

describe('bundles acknowledged to the caller survive kill -9', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('kill -9 during bursts of node.dtn.send, 20 times: every acknowledged bundle is in the node\'s store after restart', async () => {
    const script = fileURLToPath(new URL('../fixtures/dtn-burst.js', import.meta.url))
    // one node, the same key and data directory in every round: it restarts as itself
    const key = await generateKeyPair('Ed25519')
    const enrollment = await net.enroll(key, 'edge')
    const dataDir = await net.tempDir()
    const acked = new Map<string, number>()
    for (let round = 0; round < 20; round++) {
      const token = await new IssuerClient({ url: enrollment.issuerUrl }).token(key, enrollment.credential)
      const arg = JSON.stringify({ dataDir, key: Buffer.from(privateKeyToProtobuf(key)).toString('base64'), enrollment, token })
      const child = spawn(process.execPath, [script, arg], { stdio: ['ignore', 'pipe', 'pipe'] })
      // a round that stalls is killed and fails, rather than holding the run until the suite's timeout
      const deadline = setTimeout(() => { child.kill('SIGKILL') }, 30_000)
      let buffer = ''
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
      // kill after a random number of acknowledgements (5 to 200) in this round
      const killAfter = 5 + Math.floor(Math.random() * 196)
      let seen = 0
      // 'close', not 'exit': every acknowledgement written before the kill has been read
      const exited = new Promise<NodeJS.Signals | null>(resolve => { child.on('close', (_code, signal) => { resolve(signal) }) })
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString()
        let nl: number
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl)
          buffer = buffer.slice(nl + 1)
          const m = /^ACK ([0-9a-f]{32}) (\d+)$/.exec(line)
          if (m != null) {
            acked.set(m[1] as string, Number(m[2]))
            if (++seen === killAfter) {
              child.kill('SIGKILL')
            }
          }
        }
      })
      let signal: NodeJS.Signals | null
      try {
        signal = await exited
      } finally {
        clearTimeout(deadline)
        if (child.exitCode == null && child.signalCode == null) {
          child.kill('SIGKILL')
        }
      }
      assert.equal(signal, 'SIGKILL', `round ${round}: the node ended on its own: ${stderr}`)
      assert.ok(seen >= killAfter, `round ${round}: only ${seen} of ${killAfter} acknowledgements within 30 s: ${stderr}`)
      const store = new BundleStore(join(dataDir, DATA_FILES.bundles), { totalBytes: 1e12, perSourceBytes: 1e12, receipts: 1000 })
      try {
        const outbox = new Set(store.outbox(0, 1_000_000).map(e => e.id))
        for (const [id, fragments] of acked) {
          assert.ok(outbox.has(id), `round ${round}: acknowledged bundle ${id} lost`)
          assert.equal(store.fragmentsOf(id, 0).length, fragments, `round ${round}: fragments of ${id} lost`)
        }
      } finally {
        store.close()
      }
    }
    assert.ok(acked.size >= 100)
  })
})
