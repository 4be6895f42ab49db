/**
 * RFC 6962 Merkle tree hashing, inclusion and consistency proofs (the
 * verification algorithms are RFC 9162 §2.1.3.2 and §2.1.4.2). Pure: leaf
 * hashes in, hashes out; the audit log stores leaves and calls these.
 */
import { createHash } from 'node:crypto'

export type Hash = Uint8Array

const LEAF_PREFIX = Uint8Array.of(0x00)
const NODE_PREFIX = Uint8Array.of(0x01)

function sha256 (...parts: Uint8Array[]): Hash {
  const h = createHash('sha256')
  for (const p of parts) {
    h.update(p)
  }
  return new Uint8Array(h.digest())
}

export function leafHash (data: Uint8Array): Hash {
  return sha256(LEAF_PREFIX, data)
}

export function nodeHash (left: Hash, right: Hash): Hash {
  return sha256(NODE_PREFIX, left, right)
}

/** The largest power of two strictly smaller than n (n ≥ 2). */
function split (n: number): number {
  let k = 1
  while (k * 2 < n) {
    k *= 2
  }
  return k
}

/** MTH(D[n]) over leaf hashes. */
export function rootOf (leaves: Hash[]): Hash {
  if (leaves.length === 0) {
    return sha256()
  }
  if (leaves.length === 1) {
    return leaves[0] as Hash
  }
  const k = split(leaves.length)
  return nodeHash(rootOf(leaves.slice(0, k)), rootOf(leaves.slice(k)))
}

/** PATH(m, D[n]): the audit path of leaf `index` in the tree of `leaves`. */
export function inclusionProof (index: number, leaves: Hash[]): Hash[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`leaf index ${index} outside a tree of ${leaves.length}`)
  }
  if (leaves.length === 1) {
    return []
  }
  const k = split(leaves.length)
  return index < k
    ? [...inclusionProof(index, leaves.slice(0, k)), rootOf(leaves.slice(k))]
    : [...inclusionProof(index - k, leaves.slice(k)), rootOf(leaves.slice(0, k))]
}

/** PROOF(m, D[n]): proves the tree of the first m leaves is a prefix of this one. */
export function consistencyProof (m: number, leaves: Hash[]): Hash[] {
  const n = leaves.length
  if (!Number.isInteger(m) || m < 1 || m > n) {
    throw new RangeError(`cannot prove consistency from size ${m} to size ${n}`)
  }
  return subproof(m, leaves, true)
}

function subproof (m: number, leaves: Hash[], complete: boolean): Hash[] {
  const n = leaves.length
  if (m === n) {
    return complete ? [] : [rootOf(leaves)]
  }
  const k = split(n)
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), complete), rootOf(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), rootOf(leaves.slice(0, k))]
}

function equal (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

export function verifyInclusion (leaf: Hash, index: number, size: number, proof: Hash[], root: Hash): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) {
    return false
  }
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of proof) {
    if (sn === 0) {
      return false
    }
    if ((fn & 1) === 1 || fn === sn) {
      r = nodeHash(p, r)
      if ((fn & 1) === 0) {
        while ((fn & 1) === 0 && fn !== 0) {
          fn >>>= 1
          sn >>>= 1
        }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn >>>= 1
    sn >>>= 1
  }
  return sn === 0 && equal(r, root)
}

export function verifyConsistency (m: number, n: number, rootM: Hash, rootN: Hash, proof: Hash[]): boolean {
  if (!Number.isInteger(m) || !Number.isInteger(n) || m < 1 || m > n) {
    return false
  }
  if (m === n) {
    return proof.length === 0 && equal(rootM, rootN)
  }
  let path = proof
  // when m is a power of two, the old root is the first node of the path
  if ((m & (m - 1)) === 0) {
    path = [rootM, ...proof]
  }
  if (path.length === 0) {
    return false
  }
  let fn = m - 1
  let sn = n - 1
  while ((fn & 1) === 1) {
    fn >>>= 1
    sn >>>= 1
  }
  let fr = path[0] as Hash
  let sr = path[0] as Hash
  for (const c of path.slice(1)) {
    if (sn === 0) {
      return false
    }
    if ((fn & 1) === 1 || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      if ((fn & 1) === 0) {
        while ((fn & 1) === 0 && fn !== 0) {
          fn >>>= 1
          sn >>>= 1
        }
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn >>>= 1
    sn >>>= 1
  }
  return sn === 0 && equal(fr, rootM) && equal(sr, rootN)
}
