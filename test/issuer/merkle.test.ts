import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CompactRange, consistencyFromNodes, consistencyProof, inclusionFromNodes, inclusionProof, leafHash, perfectSubtrees, rootFromNodes, rootOf, verifyConsistency, verifyInclusion } from '../../src/issuer/merkle.ts'
import type { Hash, NodeReader } from '../../src/issuer/merkle.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))

// The Certificate Transparency reference inputs and tree heads (RFC 6962 hashing)
const INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex)
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'
]
const INCLUSION = [
  { index: 0, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { index: 5, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { index: 1, size: 5, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] }
]
const CONSISTENCY = [
  { m: 1, n: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { m: 6, n: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { m: 2, n: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] }
]

const LEAVES = INPUTS.map(leafHash)

describe('Merkle tree (RFC 6962)', () => {
  it('matches the reference tree heads for sizes 0..8', () => {
    for (let n = 0; n <= 8; n++) {
      assert.equal(hex(rootOf(LEAVES.slice(0, n))), ROOTS[n], `size ${n}`)
    }
  })

  it('produces and verifies the reference inclusion proofs', () => {
    for (const v of INCLUSION) {
      const leaves = LEAVES.slice(0, v.size)
      assert.deepEqual(inclusionProof(v.index, leaves).map(hex), v.proof)
      assert.ok(verifyInclusion(LEAVES[v.index] as Uint8Array, v.index, v.size, v.proof.map(unhex), unhex(ROOTS[v.size] as string)))
    }
  })

  it('produces and verifies the reference consistency proofs', () => {
    for (const v of CONSISTENCY) {
      assert.deepEqual(consistencyProof(v.m, LEAVES.slice(0, v.n)).map(hex), v.proof)
      assert.ok(verifyConsistency(v.m, v.n, unhex(ROOTS[v.m] as string), unhex(ROOTS[v.n] as string), v.proof.map(unhex)))
    }
  })

  it('verifies every proof in every tree up to 40 leaves, and catches tampering', () => {
    const many = Array.from({ length: 40 }, (_, i) => leafHash(Uint8Array.of(i, i * 7 & 0xff)))
    for (let n = 1; n <= many.length; n++) {
      const leaves = many.slice(0, n)
      const root = rootOf(leaves)
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(i, leaves)
        assert.ok(verifyInclusion(leaves[i] as Uint8Array, i, n, proof, root))
        assert.ok(!verifyInclusion(leaves[(i + 1) % n] as Uint8Array, i, n, proof, root) || n === 1)
      }
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(m, leaves)
        const rootM = rootOf(leaves.slice(0, m))
        assert.ok(verifyConsistency(m, n, rootM, root, proof), `consistency ${m}→${n}`)
        if (m < n) {
          // a rewritten history: one earlier leaf changed
          const rewritten = [...leaves]
          rewritten[0] = leafHash(Uint8Array.of(0xff))
          assert.ok(!verifyConsistency(m, n, rootM, rootOf(rewritten), consistencyProof(m, rewritten)), `rewrite caught ${m}→${n}`)
        }
      }
    }
  })

  it('rejects malformed proofs without throwing', () => {
    const root = rootOf(LEAVES)
    assert.equal(verifyInclusion(LEAVES[0] as Uint8Array, 9, 8, [], root), false)
    assert.equal(verifyInclusion(LEAVES[0] as Uint8Array, 0, 8, [], root), false)
    assert.equal(verifyConsistency(0, 8, root, root, []), false)
    assert.equal(verifyConsistency(3, 8, root, root, []), false)
    assert.throws(() => inclusionProof(8, LEAVES), RangeError)
  })
})

/**
 * A tree stored the way the audit log stores it: leaves appended one by one
 * through a CompactRange, every completed subtree kept; reads counted, and
 * only subtrees that lie inside `limit` leaves answered (what a log of that
 * size holds).
 */
function storedTree (leaves: Hash[]): { reader: NodeReader, reads: () => number, stored: number, limit: (n: number) => void } {
  const nodes = new Map<string, Hash>()
  const range = CompactRange.empty()
  for (const leaf of leaves) {
    for (const node of range.append(leaf)) {
      nodes.set(`${node.level}/${node.index}`, node.hash)
    }
  }
  let reads = 0
  let size = leaves.length
  const reader: NodeReader = {
    node: (level, index) => {
      reads++
      assert.ok((index + 1) * 2 ** level <= size, `read of subtree (${level}, ${index}) beyond the tree of ${size}`)
      const hash = level === 0 ? leaves[index] : nodes.get(`${level}/${index}`)
      assert.ok(hash != null, `subtree (${level}, ${index}) is stored`)
      return hash
    }
  }
  return { reader, reads: () => reads, stored: nodes.size, limit: n => { size = n } }
}

/** A seeded generator (mulberry32), so a failing size can be replayed. */
function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('Merkle tree over stored subtrees (incremental)', () => {
  const many = Array.from({ length: 300 }, (_, i) => leafHash(Uint8Array.of(i & 0xff, i >> 8, 0x5a)))

  it('matches the reference tree heads and CT proofs', () => {
    const t = storedTree(LEAVES)
    for (let n = 0; n <= 8; n++) {
      assert.equal(hex(rootFromNodes(t.reader, n)), ROOTS[n], `size ${n}`)
    }
    for (const v of INCLUSION) {
      assert.deepEqual(inclusionFromNodes(t.reader, v.index, v.size).map(hex), v.proof)
    }
    for (const v of CONSISTENCY) {
      assert.deepEqual(consistencyFromNodes(t.reader, v.m, v.n).map(hex), v.proof)
    }
  })

  it('equals the array reference for every size 1..300: roots, inclusion and consistency proofs (all of them up to 64)', () => {
    const t = storedTree(many)
    const random = seeded(300)
    for (let n = 1; n <= many.length; n++) {
      const leaves = many.slice(0, n)
      const root = rootOf(leaves)
      t.limit(n)
      assert.deepEqual(rootFromNodes(t.reader, n), root, `root ${n}`)
      const range = CompactRange.of(t.reader, n)
      assert.deepEqual(range.root(), root, `frontier root ${n}`)
      // every position up to 64 leaves; beyond, the edges, the split points and seeded picks (the reference is O(n) a proof)
      const positions = n <= 64
        ? Array.from({ length: n }, (_, i) => i)
        : [...new Set([0, 1, n - 2, n - 1, ...[64, 128, 256].flatMap(p => [p - 1, p, p + 1]), ...Array.from({ length: 8 }, () => Math.floor(random() * n))])].filter(i => i >= 0 && i < n)
      for (const i of positions) {
        const proof = inclusionFromNodes(t.reader, i, n)
        assert.deepEqual(proof, inclusionProof(i, leaves), `inclusion ${i} in ${n}`)
        assert.ok(verifyInclusion(leaves[i] as Hash, i, n, proof, root))
      }
      for (const m of positions.map(i => i + 1)) {
        const proof = consistencyFromNodes(t.reader, m, n)
        assert.deepEqual(proof, consistencyProof(m, leaves), `consistency ${m}→${n}`)
        assert.ok(verifyConsistency(m, n, rootOf(leaves.slice(0, m)), root, proof))
      }
    }
  })

  it('equals the reference at random sizes up to 5,000 (seeded)', () => {
    const random = seeded(13)
    const big = Array.from({ length: 5000 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)))
    const t = storedTree(big)
    for (let round = 0; round < 40; round++) {
      const n = 1 + Math.floor(random() * big.length)
      const m = 1 + Math.floor(random() * n)
      const i = Math.floor(random() * n)
      const leaves = big.slice(0, n)
      t.limit(n)
      assert.deepEqual(rootFromNodes(t.reader, n), rootOf(leaves), `root ${n}`)
      assert.deepEqual(inclusionFromNodes(t.reader, i, n), inclusionProof(i, leaves), `inclusion ${i} in ${n}`)
      assert.deepEqual(consistencyFromNodes(t.reader, m, n), consistencyProof(m, leaves), `consistency ${m}→${n}`)
    }
  })

  it('appends write each subtree once (n − popcount(n) in all, ≤ log₂ n per leaf) and keep the frontier to popcount(n)', () => {
    const range = CompactRange.empty()
    let written = 0
    for (let n = 1; n <= 1025; n++) {
      const completed = range.append(many[n % many.length] as Hash)
      assert.ok(completed.length <= Math.log2(n), `leaf ${n} wrote ${completed.length}`)
      written += completed.length
      const popcount = n.toString(2).replaceAll('0', '').length
      assert.equal(written, n - popcount, `after ${n} leaves`)
      assert.deepEqual(perfectSubtrees(0, n).map(s => s.level), [...n.toString(2)].map((b, i, all) => b === '1' ? all.length - 1 - i : -1).filter(l => l >= 0))
    }
  })

  it('reads O(log n) stored subtrees per root and proof, however large the tree', () => {
    const big = Array.from({ length: 4097 }, (_, i) => leafHash(Buffer.from(`x${i}`)))
    const t = storedTree(big)
    const random = seeded(7)
    for (const n of [2, 3, 255, 256, 257, 1000, 2048, 4095, 4096, 4097]) {
      t.limit(n)
      const bound = 2 * Math.ceil(Math.log2(n))
      let before = t.reads()
      rootFromNodes(t.reader, n)
      assert.ok(t.reads() - before <= Math.log2(n) + 1, `root of ${n}: ${t.reads() - before} reads`)
      for (let k = 0; k < 50; k++) {
        const i = Math.floor(random() * n)
        const m = 1 + Math.floor(random() * n)
        before = t.reads()
        inclusionFromNodes(t.reader, i, n)
        assert.ok(t.reads() - before <= bound, `inclusion ${i} in ${n}: ${t.reads() - before} reads > ${bound}`)
        before = t.reads()
        consistencyFromNodes(t.reader, m, n)
        assert.ok(t.reads() - before <= bound, `consistency ${m}→${n}: ${t.reads() - before} reads > ${bound}`)
      }
    }
  })

  it('refuses sizes and ranges outside the tree', () => {
    const t = storedTree(LEAVES)
    assert.throws(() => inclusionFromNodes(t.reader, 8, 8), RangeError)
    assert.throws(() => inclusionFromNodes(t.reader, -1, 8), RangeError)
    assert.throws(() => inclusionFromNodes(t.reader, 0.5, 8), RangeError)
    assert.throws(() => consistencyFromNodes(t.reader, 0, 8), RangeError)
    assert.throws(() => consistencyFromNodes(t.reader, 9, 8), RangeError)
    assert.throws(() => consistencyFromNodes(t.reader, Number.NaN, 8), RangeError)
    assert.throws(() => perfectSubtrees(2, 4), RangeError)
    assert.throws(() => perfectSubtrees(0, 0), RangeError)
  })
})
