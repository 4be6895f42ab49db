import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createBundle } from '../../src/dtn/bundle.ts'
import { signReceipt } from '../../src/dtn/receipt.ts'
import { DtnError } from '../../src/dtn/errors.ts'
import { GroupCommit } from '../../src/core/group-commit.ts'
import { BundleStore, costOf } from '../../src/dtn/store.ts'
import type { Fragment } from '../../src/dtn/bundle.ts'
import type { PrivateKey } from '@libp2p/interface'

const NOW = 1_800_000_000_000
const evidence = { token: 'fixture-token', keyCertificate: '' }
const quota = { totalBytes: 1e9, perSourceBytes: 1e9, receipts: 100 }

async function signer (): Promise<{ privateKey: PrivateKey, peerId: string, evidence: typeof evidence }> {
  const privateKey = await generateKeyPair('Ed25519')
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString(), evidence }
}

describe('bundle store', () => {
  const dirs: string[] = []
  after(async () => { await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true }))) })
  const dir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'tempus-dtn-'))
    dirs.push(d)
    return d
  }

  it('a round of offers reads the held fragments and receipts once, and never answers past a write or an expiry', async () => {
    const store = new BundleStore(':memory:', quota)
    const s = await signer()
    const d = await signer()
    // count the queries the store really runs
    const stmts = (store as any).stmts
    let queries = 0
    for (const name of ['held', 'receiptsNewest']) {
      const all = stmts[name].all.bind(stmts[name])
      stmts[name] = { all: (...args: unknown[]) => { queries++; return all(...args) } }
    }
    const short = createBundle(s, { kind: 'everyone' }, randomBytes(10), { lifetimeMs: 1_000, hopLimit: 4, copies: 2 }, NOW)
    const long = createBundle(s, { kind: 'everyone' }, randomBytes(10), { lifetimeMs: 60_000, hopLimit: 4, copies: 2 }, NOW)
    store.add([{ fragments: short }, { fragments: long }], NOW)
    // sixty sessions of one round
    for (let i = 0; i < 60; i++) {
      assert.equal(store.held(NOW + 10, 100).length, 2)
      assert.equal(store.newestReceipts(NOW + 10, 100).length, 0)
    }
    assert.equal(queries, 2, 'each read ran once for the round')
    // what expired since is not answered, even from the last read
    assert.deepEqual(store.held(NOW + 1_000, 100).map(h => h.id), [long[0]?.id])
    assert.equal(queries, 2)
    // a write is seen at once
    assert.ok(store.addReceipt(signReceipt(d.privateKey, d.peerId, long[0] as Fragment, NOW + 500)))
    assert.equal(store.newestReceipts(NOW + 1_000, 100).length, 1)
    store.removeBundle(long[0]?.id as string)
    assert.equal(store.held(NOW + 1_000, 100).length, 0)
    assert.equal(queries, 4)
    // and a read a second later runs again
    assert.equal(store.newestReceipts(NOW + 2_000, 100).length, 1)
    assert.equal(queries, 5)
    store.close()
  })

  it('suppresses duplicates, refuses over the quotas with a clear error, and counts the quota again after a restart', async () => {
    const path = join(await dir(), 'bundles.db')
    const s = await signer()
    const t = await signer()
    const bundle = (who: typeof s, size: number): Fragment[] => createBundle(who, { kind: 'everyone' }, randomBytes(size), { lifetimeMs: 60_000, hopLimit: 4, copies: 2, fragmentSize: 1024 }, NOW)
    const cost = (fragments: Fragment[]): number => fragments.reduce((n, f) => n + costOf(f), 0)
    const first = bundle(s, 4000)
    const quota = { totalBytes: Math.floor(2.5 * cost(first)), perSourceBytes: cost(first) + 1000, receipts: 100 }
    let store = new BundleStore(path, quota)
    assert.deepEqual(store.add([{ fragments: first }], NOW), [[true, true, true, true]])
    // the same fragments again: nothing new, nothing counted twice
    assert.deepEqual(store.add([{ fragments: first }], NOW), [[false, false, false, false]])
    assert.equal(store.usage(NOW).bytes, cost(first))
    // a fragment costs what it stores: payload, header, signature and evidence
    assert.ok(cost(first) > 4000 + 4 * (64 + evidence.token.length))
    // per source
    const [refused] = store.add([{ fragments: bundle(s, 3000) }], NOW)
    assert.ok(refused instanceof DtnError && refused.reason === 'quota-full' && /quota of this source/.test(refused.message))
    // another source fits; then the total is full
    assert.ok(Array.isArray(store.add([{ fragments: bundle(t, 4000) }], NOW)[0]))
    const [full] = store.add([{ fragments: bundle(await signer(), 4000) }], NOW)
    assert.ok(full instanceof DtnError && full.reason === 'quota-full' && /store is full/.test(full.message))
    const before = store.usage(NOW)
    store.close()
    store = new BundleStore(path, quota)
    assert.deepEqual(store.usage(NOW), before)
    assert.ok(store.add([{ fragments: bundle(s, 1500) }], NOW)[0] instanceof DtnError)
    store.close()
  })

  it('empty bundles cost their rows: a source cannot flood past its quota with them', async () => {
    const s = await signer()
    const store = new BundleStore(':memory:', { totalBytes: 1e9, perSourceBytes: 100 * 1024, receipts: 100 })
    let stored = 0
    for (let i = 0; i < 1000; i++) {
      const r = store.add([{ fragments: createBundle(s, { kind: 'everyone' }, new Uint8Array(0), { lifetimeMs: 60_000, hopLimit: 4, copies: 2 }, NOW) }], NOW)[0]
      if (r instanceof DtnError) {
        assert.equal(r.reason, 'quota-full')
        break
      }
      stored++
    }
    assert.ok(stored <= (100 * 1024) / 512, `${stored} empty bundles fit in 100 KiB`)
    assert.ok(stored > 0)
    store.close()
  })

  it('spray copies are taken atomically: two hand-overs at once cannot both take the same copies', async () => {
    const s = await signer()
    const d = await signer()
    const store = new BundleStore(':memory:', { totalBytes: 1e9, perSourceBytes: 1e9, receipts: 100 })
    const [f] = createBundle(s, { kind: 'peer', peer: d.peerId }, randomBytes(10), { lifetimeMs: 60_000, hopLimit: 4, copies: 8 }, NOW) as [Fragment]
    store.add([{ fragments: [f] }], NOW)
    assert.equal(store.takeCopies(f.id, 0, 4), true)
    assert.equal(store.takeCopies(f.id, 0, 4), false, 'only 4 left: one must stay')
    assert.equal(store.takeCopies(f.id, 0, 2), true)
    store.returnCopies(f.id, 0, 2)
    assert.equal(store.fragment(f.id, 0, NOW)?.copies, 4)
    store.close()
  })

  it('never returns an expired bundle, deletes it at its expiry and frees its quota (injected clock)', async () => {
    const store = new BundleStore(':memory:', quota)
    const s = await signer()
    const d = await signer()
    const [f] = createBundle(s, { kind: 'peer', peer: d.peerId }, randomBytes(500), { lifetimeMs: 10_000, hopLimit: 4, copies: 2 }, NOW) as [Fragment]
    store.add([{ fragments: [f], outbox: true }], NOW)
    const receipt = signReceipt(d.privateKey, d.peerId, f, NOW + 1)
    assert.ok(store.addReceipt(receipt))
    assert.ok(store.fragment(f.id, 0, NOW + 9_999) != null)
    assert.equal(store.held(NOW + 9_999, 10).length, 1)
    // past its expiry it is invisible even before the sweep
    assert.equal(store.fragment(f.id, 0, NOW + 10_000), undefined)
    assert.equal(store.held(NOW + 10_000, 10).length, 0)
    assert.equal(store.receipt(f.id, NOW + 10_000), undefined)
    assert.equal(store.nothingToOffer, false)
    assert.equal(store.expire(NOW + 9_999), 0)
    assert.equal(store.expire(NOW + 10_000), 3)
    assert.equal(store.nothingToOffer, true, 'an offer is skipped without a query once nothing is held')
    assert.equal(store.usage(NOW).bytes, 0)
    assert.deepEqual(store.usage(NOW), { bytes: 0, fragments: 0, inbox: 0, outbox: 0, receipts: 0 })
    store.close()
  })

  it('an expiry sweep with nothing due touches no table; rows written later or found on disk bring the sweep forward', async () => {
    const path = join(await dir(), 'bundles.db')
    let store = new BundleStore(path, quota)
    const s = await signer()
    const d = await signer()
    const [late] = createBundle(s, { kind: 'peer', peer: d.peerId }, randomBytes(100), { lifetimeMs: 60_000, hopLimit: 4, copies: 2 }, NOW) as [Fragment]
    store.add([{ fragments: [late], receivedFrom: d.peerId }], NOW)
    // another connection holds the write lock: a sweep that opened a
    // transaction would wait out the busy timeout and throw
    const other = new DatabaseSync(path)
    other.exec('BEGIN IMMEDIATE')
    assert.equal(store.expire(NOW + 59_999), 0)
    other.exec('ROLLBACK')
    // an earlier expiry written afterwards, by each kind of row, is swept at its time
    const [early] = createBundle(s, { kind: 'peer', peer: d.peerId }, randomBytes(100), { lifetimeMs: 5_000, hopLimit: 4, copies: 2 }, NOW) as [Fragment]
    store.add([{ fragments: [early], outbox: true }], NOW)
    assert.ok(store.addReceipt(signReceipt(d.privateKey, d.peerId, early, NOW + 1)))
    const entry = { id: 'inbox-1', source: s.peerId, destination: '*', createdAt: NOW, expiresAt: NOW + 3_000, receivedAt: NOW, payload: new Uint8Array(10) }
    assert.ok(store.deliver(entry, false))
    assert.equal(store.expire(NOW + 3_000), 1, 'the inbox row')
    assert.equal(store.expire(NOW + 5_000), 3, 'the fragment, its outbox row and its receipt')
    store.close()
    // reopened: the bound comes from what is on disk
    store = new BundleStore(path, quota)
    other.exec('BEGIN IMMEDIATE')
    assert.equal(store.expire(NOW + 59_999), 0)
    other.exec('ROLLBACK')
    other.close()
    assert.equal(store.expire(NOW + 60_000), 1)
    assert.deepEqual(store.usage(NOW), { bytes: 0, fragments: 0, inbox: 0, outbox: 0, receipts: 0 })
    store.close()
  })

  it('a delivery is recorded once, and the fragments of a bundle for this node alone go with it', async () => {
    const store = new BundleStore(':memory:', { totalBytes: 1e9, perSourceBytes: 1e9, receipts: 100 })
    const s = await signer()
    const fragments = createBundle(s, { kind: 'everyone' }, randomBytes(3000), { lifetimeMs: 10_000, hopLimit: 4, copies: 2, fragmentSize: 1024 }, NOW)
    store.add([{ fragments }], NOW)
    const entry = { id: (fragments[0] as Fragment).id, source: s.peerId, destination: '*', createdAt: NOW, expiresAt: NOW + 10_000, receivedAt: NOW, payload: new Uint8Array(3000) }
    assert.equal(store.deliver(entry, true), true)
    assert.equal(store.deliver(entry, true), false)
    assert.equal(store.usage(NOW).fragments, 0)
    assert.equal(store.usage(NOW).bytes, 3000)
    assert.ok(store.delivered(entry.id))
    store.close()
  })

  it('group commit: concurrent writes share a transaction; a refused one does not fail the others', async () => {
    const store = new BundleStore(':memory:', { totalBytes: 1e9, perSourceBytes: 1500, receipts: 100 })
    let commits = 0
    const writer = new GroupCommit<{ fragments: Fragment[] }, boolean[]>({ flush: items => { commits++; return store.add(items, NOW) } })
    const s = await signer()
    const make = (n: number): Fragment[] => createBundle(s, { kind: 'everyone' }, randomBytes(n), { lifetimeMs: 10_000, hopLimit: 4, copies: 2 }, NOW)
    const results = await Promise.allSettled([writer.submit({ fragments: make(500) }), writer.submit({ fragments: make(500) }), writer.submit({ fragments: make(900) })])
    assert.equal(commits, 1)
    assert.deepEqual(results.map(r => r.status), ['fulfilled', 'fulfilled', 'rejected'])
    assert.equal((results[2] as PromiseRejectedResult).reason.reason, 'quota-full')
    store.close()
  })
})
