/**
 * The bytes an inbound connection may send before its security handshake,
 * checked as they arrive. Pure: no libp2p, no I/O.
 *
 * The same holds for every inbound stream's negotiation inside a
 * connection (src/node/negotiation-guarded-muxer.ts), whose frames are
 * read by the same code: there, `done` is the proposal of any protocol the
 * node handles.
 *
 * Before Noise (or a resumption) starts, libp2p reads the dialler's
 * multistream-select frames — a varint length, then a line — with
 * @libp2p/utils' `lpStream`, which reads a length one byte at a time, makes
 * a new RangeError for every byte short of its end and never applies its
 * bound on a length's size while it has not ended (src/core/length-prefix.ts
 * fixes that for this project's own streams; this one is libp2p's). And its
 * listener answers frame after frame for as long as they come. So anyone
 * who can open a TCP connection, before any key or token, could send
 * 0x80 0x80 … and keep a core busy until the upgrade timeout: one
 * connection sending 1.4 MB made a node burn 5.3 s of CPU in 5.1 s.
 *
 * An honest dialler sends the multistream header and one proposal (two
 * after a `na`, a few at most), each a line of at most 1,024 bytes whose
 * length takes at most two varint bytes. The guard follows those frames
 * and says `done` once a frame proposes one of the node's security
 * protocols (what follows is that protocol's, with bounds of its own); a
 * length of more than two bytes, a frame over 1,024 bytes or more than
 * `maxFrames` frames before that is a violation, and the connection is cut
 * at that byte.
 */
import { VarintReader } from './length-prefix.ts'

export type NegotiationViolation = 'long-length' | 'oversize-frame' | 'too-many-frames'
export type NegotiationVerdict = 'watching' | 'done' | NegotiationViolation

export interface NegotiationGuardInit {
  /** the protocols this node speaks here (a list, or a test of one): a proposal of one ends the negotiation */
  protocols: readonly string[] | ((protocol: string) => boolean)
  /**
   * frames before a proposal of one of them, at most; @default 8. A
   * stream's negotiation takes no bound here (`Infinity`): a dialler that
   * selects optimistically writes its first frames right behind its
   * proposal, and a listener that answers `na` reads them as further
   * proposals (src/core/optimistic-select.ts), as many as were written
   */
  maxFrames?: number
}

/** multistream-select's header line, without its newline: neither a proposal nor an answer */
export const MULTISTREAM_HEADER = '/multistream/1.0.0'

/** multistream-select's own bound on a line (`MAX_PROTOCOL_LENGTH`), and the varint bytes its length takes */
const MAX_FRAME_BYTES = 1024
const MAX_LENGTH_BYTES = 2

export class NegotiationGuard {
  private readonly speaks: (protocol: string) => boolean
  private readonly maxFrames: number
  private verdict: NegotiationVerdict = 'watching'
  private frames = 0
  /**
   * a line proposed something this node does not speak: what follows may
   * be an honest dialler's optimistic bytes (above), out of bounds through
   * no fault of its own
   */
  unspokenProposal = false
  /** once `done`: the protocol proposed (or, to a dialler, answered) */
  protocol?: string
  /**
   * once not `watching`: where in the last chunk fed the negotiation
   * ended; the bytes from there on are the protocol's (an optimistic
   * dialler's first frame may share the proposal's chunk)
   */
  endedAt = 0
  /** the length being read */
  private readonly length = new VarintReader(MAX_LENGTH_BYTES)
  /** the line being read, once its length is known */
  private line?: Uint8Array
  private lineAt = 0

  constructor (init: NegotiationGuardInit) {
    const protocols = init.protocols
    this.speaks = typeof protocols === 'function' ? protocols : (p) => protocols.includes(p)
    this.maxFrames = init.maxFrames ?? 8
  }

  /** Take the next bytes the dialler sent; the verdict so far (once not `watching`, it stays). */
  feed (chunk: Uint8Array): NegotiationVerdict {
    let i = 0
    for (; i < chunk.length && this.verdict === 'watching'; i++) {
      if (this.line == null) {
        const step = this.length.push(chunk[i] as number)
        if (step !== 'done') {
          if (step === 'long-length') {
            this.verdict = 'long-length'
          }
          continue
        }
        if (this.length.value > MAX_FRAME_BYTES) {
          this.verdict = 'oversize-frame'
          continue
        }
        this.line = new Uint8Array(this.length.value)
        this.lineAt = 0
        this.length.reset()
      } else {
        // the rest of the line that is in this chunk, at once
        const take = Math.min(this.line.length - this.lineAt, chunk.length - i)
        this.line.set(chunk.subarray(i, i + take), this.lineAt)
        this.lineAt += take
        i += take - 1
      }
      if (this.line != null && this.lineAt === this.line.length) {
        this.endOfLine(this.line)
      }
    }
    this.endedAt = i
    return this.verdict
  }

  private endOfLine (line: Uint8Array): void {
    this.line = undefined
    this.frames++
    const text = Buffer.from(line).toString('utf8')
    if (text.endsWith('\n') && this.speaks(text.slice(0, -1))) {
      this.verdict = 'done'
      this.protocol = text.slice(0, -1)
      return
    }
    if (text !== `${MULTISTREAM_HEADER}\n` && text !== 'ls\n') {
      this.unspokenProposal = true
    }
    if (this.frames >= this.maxFrames) {
      this.verdict = 'too-many-frames'
    }
  }
}
