import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { consistencyProof, inclusionProof, leafHash, rootOf, verifyConsistency, verifyInclusion } from '../../src/issuer/merkle.ts'

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
