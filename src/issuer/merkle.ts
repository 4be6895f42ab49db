/**
 * RFC 6962 Merkle tree hashing, inclusion and consistency proofs (the
 * verification algorithms are RFC 9162 §2.1.3.2 and §2.1.4.2). Pure: leaf
 * hashes in, hashes out.
 *
 * Two implementations of the same tree:
 * - over an array of leaves (`rootOf`, `inclusionProof`, `consistencyProof`):
 *   the RFC's recursion as written, O(n) per call; the reference the tests
 *   and `bench:audit` hold the other against;
 * - over stored perfect subtrees (`rootFromNodes`, `inclusionFromNodes`,
 *   `consistencyFromNodes`, `CompactRange`), as Trillian and other
 *   RFC 6962 logs keep their trees: the hash of every complete subtree of
 *   2^ℓ leaves starting at k·2^ℓ is stored once, when its last leaf is
 *   appended, and read through a `NodeReader` port. Every range the RFC's
 *   recursion hashes is aligned, so its hash is a fold of the ≤ log₂ n
 *   perfect subtrees of its size's binary decomposition; an append writes
 *   the subtrees it completes (≤ log₂ n, one on average) and the audit
 *   log serves any root and proof in O(log n) node reads.
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

// ---- the tree over stored perfect subtrees ---------------------------------

/** A perfect subtree: `level` ℓ, `index` k, covering leaves [k·2^ℓ, (k+1)·2^ℓ). */
export interface TreeNode {
  level: number
  index: number
  hash: Hash
}

/**
 * The port through which the incremental functions read a log's stored
 * perfect subtrees (level 0: the leaf hashes). They only ask for subtrees
 * lying wholly inside the tree they are given the size of, which a log that
 * stores every subtree as it completes always holds.
 */
export interface NodeReader {
  node: (level: number, index: number) => Hash
}

/**
 * The perfect subtrees whose hashes fold into MTH(D[start : start+size]),
 * largest (leftmost) first: one per set bit of `size`. RFC 6962 splits a
 * tree of n leaves after the largest power of two below n, which is exactly
 * this decomposition, provided the range is aligned: `start` a multiple of
 * the largest of those powers (every range the RFC recursion visits is).
 */
export function perfectSubtrees (start: number, size: number): Array<{ level: number, index: number }> {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size) || start < 0 || size < 1) {
    throw new RangeError(`no subtree range starts at ${start} with ${size} leaves`)
  }
  const out: Array<{ level: number, index: number }> = []
  let offset = start
  for (let level = Math.floor(Math.log2(size)); level >= 0; level--) {
    const width = 2 ** level
    if (Math.floor(size / width) % 2 === 1) {
      if (offset % width !== 0) {
        throw new RangeError(`the range [${start}, ${start + size}) is not aligned to its subtrees`)
      }
      out.push({ level, index: offset / width })
      offset += width
    }
  }
  return out
}

/** Fold perfect subtree hashes (leftmost first) into the RFC 6962 hash of their range. */
function fold (hashes: Hash[]): Hash {
  let acc = hashes[hashes.length - 1] as Hash
  for (let i = hashes.length - 2; i >= 0; i--) {
    acc = nodeHash(hashes[i] as Hash, acc)
  }
  return acc
}

/** MTH(D[start : start+size]) of an aligned range: ≤ log₂ size reads. */
export function rangeRoot (reader: NodeReader, start: number, size: number): Hash {
  return fold(perfectSubtrees(start, size).map(s => reader.node(s.level, s.index)))
}

/** MTH(D[size]): popcount(size) ≤ log₂ size + 1 reads. */
export function rootFromNodes (reader: NodeReader, size: number): Hash {
  if (size === 0) {
    return sha256()
  }
  return rangeRoot(reader, 0, size)
}

/**
 * PATH(index, D[size]), equal to `inclusionProof`. Every sibling on the path
 * is a perfect subtree (one read) except at most one, the first right
 * sibling of the descent, which is the ragged right edge of the tree: one
 * `rangeRoot` of ≤ log₂ size reads. So ≤ 2·⌈log₂ size⌉ reads in all.
 */
export function inclusionFromNodes (reader: NodeReader, index: number, size: number): Hash[] {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new RangeError(`leaf index ${index} outside a tree of ${size}`)
  }
  // the RFC's recursion unrolled: descend from the root, collecting each
  // level's sibling; the proof lists them from the leaf up
  const path: Hash[] = []
  let start = 0
  let n = size
  let i = index
  while (n > 1) {
    const k = split(n)
    if (i < k) {
      path.push(rangeRoot(reader, start + k, n - k))
      n = k
    } else {
      path.push(rangeRoot(reader, start, k))
      start += k
      i -= k
      n -= k
    }
  }
  return path.reverse()
}

/**
 * PROOF(m, D[n]), equal to `consistencyProof`. As for inclusion, every node
 * is a perfect subtree except at most one ragged right edge: ≤ 2·⌈log₂ n⌉
 * reads. (The last node, when the old tree is not a left-edge subtree, is
 * reached only by descending left, so it is perfect.)
 */
export function consistencyFromNodes (reader: NodeReader, m: number, n: number): Hash[] {
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n) || m < 1 || m > n) {
    throw new RangeError(`cannot prove consistency from size ${m} to size ${n}`)
  }
  const proof: Hash[] = []
  let start = 0
  let complete = true
  while (m !== n) {
    const k = split(n)
    if (m <= k) {
      proof.push(rangeRoot(reader, start + k, n - k))
      n = k
    } else {
      proof.push(rangeRoot(reader, start, k))
      start += k
      m -= k
      n -= k
      complete = false
    }
  }
  if (!complete) {
    proof.push(rangeRoot(reader, start, n))
  }
  return proof.reverse()
}

/**
 * The right frontier of a tree of `size` leaves (Trillian's "compact
 * range"): the hashes of the perfect subtrees of the binary decomposition
 * of `size`, largest first. It is all an append needs: the subtrees a new
 * leaf completes are merges of the frontier's right end, and the root is
 * their fold.
 */
export class CompactRange {
  private readonly nodes: TreeNode[]
  private count: number

  private constructor (nodes: TreeNode[], size: number) {
    this.nodes = nodes
    this.count = size
  }

  static empty (): CompactRange {
    return new CompactRange([], 0)
  }

  /** The frontier of a stored tree: popcount(size) reads. */
  static of (reader: NodeReader, size: number): CompactRange {
    if (size === 0) {
      return CompactRange.empty()
    }
    return new CompactRange(perfectSubtrees(0, size).map(s => ({ ...s, hash: reader.node(s.level, s.index) })), size)
  }

  get size (): number {
    return this.count
  }

  /** Add the next leaf; returns the subtrees of level ≥ 1 it completes, lowest first (to be stored). */
  append (leaf: Hash): TreeNode[] {
    const completed: TreeNode[] = []
    let right: TreeNode = { level: 0, index: this.count, hash: leaf }
    let left = this.nodes[this.nodes.length - 1]
    while (left != null && left.level === right.level) {
      this.nodes.pop()
      right = { level: left.level + 1, index: Math.floor(left.index / 2), hash: nodeHash(left.hash, right.hash) }
      completed.push(right)
      left = this.nodes[this.nodes.length - 1]
    }
    this.nodes.push(right)
    this.count++
    return completed
  }

  /** MTH of the whole range: a fold of ≤ log₂ size + 1 hashes, no reads. */
  root (): Hash {
    return this.count === 0 ? sha256() : fold(this.nodes.map(n => n.hash))
  }

  clone (): CompactRange {
    return new CompactRange([...this.nodes], this.count)
  }
}
