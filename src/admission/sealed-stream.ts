/**
 * A resumed connection's record layer: each frame a 2-byte big-endian
 * length and a ChaCha20-Poly1305 ciphertext (the key of its direction, a
 * counter nonce), as Noise's transport messages are framed. A frame that
 * does not open ends the connection: nobody honest sends one.
 *
 * What one turn of the event loop hands it is sealed as one record, on the
 * next tick, not one record per Yamux frame: a connect, a call and a close
 * sent 16 records each way, most of them a Yamux header of 12 bytes, each
 * a seal on one side and an opening on the other. The socket's own writes
 * are coalesced per turn already (coalescing-writes.ts); a close, of this
 * stream or of the connection beneath, seals what is held first, and more
 * than a record's worth is sealed at once.
 */
import { AbstractMessageStream, LengthPrefixedDecoder } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { frameLength } from '../core/noise-frame-length.ts'
import type { CipherState } from './resume-handshake.ts'
import type { AbortOptions, MessageStream } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'

/** the longest frame on the wire: its length is 2 bytes */
const MAX_FRAME_BYTES = 65_535
const TAG_BYTES = 16
const MAX_PLAINTEXT_BYTES = MAX_FRAME_BYTES - TAG_BYTES

export class SealedMessageStream extends AbstractMessageStream {
  private readonly inner: MessageStream
  private readonly sending: CipherState
  private readonly receiving: CipherState
  /** what this turn handed over, sealed on the next tick */
  private readonly held = new Uint8ArrayList()
  private flushing = false
  private readonly decoder = new LengthPrefixedDecoder({ lengthDecoder: frameLength, encodingLength: () => 2, maxDataLength: MAX_FRAME_BYTES, maxBufferSize: 16 * 1024 * 1024 })

  constructor (inner: MessageStream, sending: CipherState, receiving: CipherState) {
    super({ log: inner.log, inactivityTimeout: inner.inactivityTimeout, maxReadBufferLength: inner.maxReadBufferLength, direction: inner.direction })
    this.inner = inner
    this.sending = sending
    this.receiving = receiving
    inner.addEventListener('message', (evt) => {
      try {
        for (const frame of this.decoder.decode(evt.data)) {
          this.onData(this.receiving.open(frame.subarray()))
        }
      } catch (err: any) {
        this.abort(err)
      }
    })
    inner.addEventListener('close', (evt) => {
      if (evt.error == null) {
        this.onTransportClosed()
      } else if (evt.local === true) {
        this.abort(evt.error)
      } else {
        this.onRemoteReset()
      }
    })
    inner.addEventListener('drain', () => { this.safeDispatchEvent('drain') })
    inner.addEventListener('remoteCloseWrite', () => { this.onRemoteCloseWrite() })
    // libp2p closes a connection by closing its muxer, then the transport's
    // connection itself, not this stream: what the muxer's close wrote (each
    // stream's end, its GoAway, a send just before) is still held then, and
    // must go out before the connection beneath stops taking writes
    const closeInner = inner.close.bind(inner)
    inner.close = async (options?: AbortOptions) => {
      this.flush()
      await closeInner(options)
    }
  }

  sendData (data: Uint8ArrayList): SendResult {
    this.held.append(data)
    if (this.held.byteLength >= MAX_PLAINTEXT_BYTES || this.inner.writableNeedsDrain) {
      return { sentBytes: data.byteLength, canSendMore: this.flush() }
    }
    if (!this.flushing) {
      this.flushing = true
      process.nextTick(() => { this.flush() })
    }
    return { sentBytes: data.byteLength, canSendMore: true }
  }

  /** Seal and send what is held; false when the connection beneath wants a drain. */
  private flush (): boolean {
    this.flushing = false
    if (this.held.byteLength === 0) {
      return !this.inner.writableNeedsDrain
    }
    const data = this.held.sublist()
    this.held.consume(this.held.byteLength)
    if (this.inner.status !== 'open') {
      return false // ended meanwhile: nothing more goes out
    }
    try {
      const out = new Uint8ArrayList()
      for (let at = 0; at < data.byteLength; at += MAX_PLAINTEXT_BYTES) {
        const sealed = this.sending.seal(data.subarray(at, Math.min(at + MAX_PLAINTEXT_BYTES, data.byteLength)))
        const length = Buffer.allocUnsafe(2)
        length.writeUInt16BE(sealed.length)
        out.append(length, sealed)
      }
      return this.inner.send(out)
    } catch (err: any) {
      // on the next tick nobody would catch it: the connection ends as a failed seal or send ends it
      this.abort(err)
      return false
    }
  }

  sendReset (err: Error): void {
    this.inner.abort(err)
  }

  sendPause (): void {
    this.inner.pause()
  }

  sendResume (): void {
    this.inner.resume()
  }

  async close (options?: AbortOptions): Promise<void> {
    await this.inner.close(options) // what is held goes first (the constructor's wrapper)
  }
}
