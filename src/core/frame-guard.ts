/**
 * A length-prefixed stream's frames followed as its bytes arrive, and held
 * to the protocol's bounds. Pure: no libp2p, no I/O.
 *
 * libp2p's own protocols that this node runs — identify, and the DHT —
 * read their frames with @libp2p/utils' `lpStream`, whose length reader
 * takes every byte with the high bit set for "not yet", a new Error each,
 * and applies no bound while a length has not ended (src/core/length-prefix.ts
 * tells the story; this project's own streams use its decoder). So a peer
 * past admission that negotiated one of those protocols properly could
 * then send 0x80 0x80 … and keep a core busy until the protocol's own
 * timeout (the DHT's restarts with every message). That reader is not ours
 * to change; the bytes that reach it are: the stream is watched from the
 * negotiation's end (src/admission/negotiation-watch.ts) and cut at the
 * first length that runs past the bytes `maxDataLength` takes, or that
 * announces a frame longer than it.
 */
import { VarintReader, varintBytes } from './length-prefix.ts'

export type FrameViolation = 'long-length' | 'oversize-frame'

export class FrameGuard {
  private readonly length: VarintReader
  /** data bytes of the current frame still to come */
  private remaining = 0
  private verdict: 'watching' | FrameViolation = 'watching'

  constructor (private readonly maxDataLength: number) {
    this.length = new VarintReader(varintBytes(maxDataLength))
  }

  /** Take the next bytes; the verdict so far (once a violation, it stays). */
  feed (chunk: Uint8Array): 'watching' | FrameViolation {
    let i = 0
    while (i < chunk.length && this.verdict === 'watching') {
      if (this.remaining > 0) {
        // a frame's data, skipped at once
        const take = Math.min(this.remaining, chunk.length - i)
        this.remaining -= take
        i += take
        continue
      }
      const step = this.length.push(chunk[i++] as number)
      if (step === 'long-length') {
        this.verdict = 'long-length'
      } else if (step === 'done') {
        if (this.length.value > this.maxDataLength) {
          this.verdict = 'oversize-frame'
        }
        this.remaining = this.length.value
        this.length.reset()
      }
    }
    return this.verdict
  }
}
