/**
 * A resumed connection's record layer: each frame a 2-byte big-endian
 * length and a ChaCha20-Poly1305 ciphertext (the key of its direction, a
 * counter nonce), as Noise's transport messages are framed. A frame that
 * does not open ends the connection: nobody honest sends one.
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
  }

  sendData (data: Uint8ArrayList): SendResult {
    const out = new Uint8ArrayList()
    for (let at = 0; at < data.byteLength; at += MAX_PLAINTEXT_BYTES) {
      const sealed = this.sending.seal(data.subarray(at, Math.min(at + MAX_PLAINTEXT_BYTES, data.byteLength)))
      const length = Buffer.allocUnsafe(2)
      length.writeUInt16BE(sealed.length)
      out.append(length, sealed)
    }
    return { sentBytes: data.byteLength, canSendMore: this.inner.send(out) }
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
    await this.inner.close(options)
  }
}
