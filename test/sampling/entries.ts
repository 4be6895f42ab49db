/**
 * Entries as a test (or an attacker) writes them: a shuffle frame encoded
 * by hand, so a test can put in any field, including the unsigned `addrs`
 * (field 2) that older versions read, and signed peer records made with
 * libp2p's own envelope.
 */
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { handOn, mintDescriptor } from '../../src/core/descriptor.ts'
import { keyObjectOf } from '../../src/core/keys.ts'
import { cyclonProtocol } from '../../src/sampling/constants.ts'
import { TEST_DESCRIPTOR_SPACING_MS } from '../fixtures/nodes.ts'
import type { Descriptor } from '../../src/core/descriptor.ts'
import type { PeerType } from '../../src/core/peer-type.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface RawEntry {
  id: string
  token: string
  keyCertificate: string
  age?: number
  type?: string
  /** unsigned addresses in field 2 (older versions dialled these) */
  addrs?: string[]
  /** a signed peer record (envelope bytes) in field 7 */
  record?: Uint8Array
  /** its descriptor in fields 8–10 */
  descriptor?: Descriptor
}

/** the widest spacing between two descriptors of one peer in a test net (its sentinel view's), and a margin */
const SPACING_MS = Math.max(...Object.values(TEST_DESCRIPTOR_SPACING_MS)) + 100
const lastMint = new Map<string, number>()

/**
 * A descriptor `subject` mints for the `type` view, handed through the
 * owners `via` (keys, in order) to `to`: what an honest chain looks like.
 * Two minted here for one peer are never within the spacing of each other
 * (the later may be a few seconds ahead of the clock, which a receiver
 * takes as age 0).
 */
export function descriptorOf (subject: PrivateKey, type: PeerType, to: string, via: PrivateKey[] = []): Descriptor {
  const id = peerIdFromPrivateKey(subject).toString()
  const mintedAt = Math.max(Date.now(), (lastMint.get(`${type} ${id}`) ?? -Infinity) + SPACING_MS)
  lastMint.set(`${type} ${id}`, mintedAt)
  let d = mintDescriptor(keyObjectOf(subject), type, id, mintedAt)
  const owners = [subject, ...via]
  for (const [i, owner] of owners.entries()) {
    const next = owners[i + 1]
    d = handOn(d, keyObjectOf(owner), next == null ? to : peerIdFromPrivateKey(next).toString())
  }
  return d
}

function bigVarint (n: number): number[] {
  const out: number[] = []
  let v = BigInt(n)
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return out
}

/** The signed peer record `key` makes for itself, as identify would. */
export async function recordOf (key: PrivateKey, addrs: string[], seq?: bigint): Promise<Uint8Array> {
  const record = new PeerRecord({ peerId: peerIdFromPrivateKey(key), multiaddrs: addrs.map(a => multiaddr(a)), seqNumber: seq })
  return (await RecordEnvelope.seal(record, key)).marshal()
}

function varint (n: number): number[] {
  const out: number[] = []
  let v = n
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80)
    v = Math.floor(v / 128)
  }
  out.push(v)
  return out
}

function field (no: number, bytes: Uint8Array): number[] {
  return [...varint((no << 3) | 2), ...varint(bytes.length), ...bytes]
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

/** A CyclonShuffle frame with exactly these entries. */
export function encodeShuffle (entries: RawEntry[], type: PeerType = 'sentinel'): Uint8Array {
  const out: number[] = []
  for (const e of entries) {
    const entry = [
      ...field(1, utf8(e.id)),
      ...(e.addrs ?? []).flatMap(a => field(2, multiaddr(a).bytes)),
      ...field(3, utf8(e.type ?? type)),
      ...field(4, utf8(e.token)),
      ...(e.keyCertificate === '' ? [] : field(5, utf8(e.keyCertificate))),
      ...(e.age == null || e.age === 0 ? [] : [...varint(6 << 3), ...varint(e.age)]),
      ...(e.record == null ? [] : field(7, e.record)),
      ...(e.descriptor == null
        ? []
        : [...varint(8 << 3), ...bigVarint(e.descriptor.mintedAt), ...field(9, e.descriptor.signature),
            ...e.descriptor.hops.flatMap(h => field(10, Uint8Array.from([...field(1, utf8(h.to)), ...field(2, h.signature)])))])
    ]
    out.push(...field(1, Uint8Array.from(entry)))
  }
  return Uint8Array.from(out)
}

/** One shuffle of the `type` view from `sender` to `target` with these entries; resolves when the target answered (or reset). */
export async function sendShuffle (sender: TempusNode, target: TempusNode, entries: RawEntry[], type: PeerType = 'sentinel'): Promise<void> {
  const stream = await sender.libp2p.dialProtocol(target.peerId, cyclonProtocol(type), { signal: AbortSignal.timeout(10_000) })
  const lp = lpStream(stream)
  await lp.write(encodeShuffle(entries, type))
  try {
    await lp.read({ signal: AbortSignal.timeout(10_000) })
    await stream.close()
  } catch {
    stream.abort(new Error('refused'))
  }
}
