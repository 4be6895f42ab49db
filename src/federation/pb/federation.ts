import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Challenge {
  schemaVersion: number
  overlay: string
  bridge: Uint8Array<ArrayBuffer>
  expectedRemote: Uint8Array<ArrayBuffer>
  nonce: Uint8Array<ArrayBuffer>
  timestamp: bigint
}

export namespace Challenge {
  let _codec: Codec<Challenge>

  export const codec = (): Codec<Challenge> => {
    if (_codec == null) {
      _codec = message<Challenge>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.schemaVersion != null && obj.schemaVersion !== 0)) {
          w.uint32(8)
          w.uint32(obj.schemaVersion)
        }

        if ((obj.overlay != null && obj.overlay !== '')) {
          w.uint32(18)
          w.string(obj.overlay)
        }

        if ((obj.bridge != null && obj.bridge.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.bridge)
        }

        if ((obj.expectedRemote != null && obj.expectedRemote.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.expectedRemote)
        }

        if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.nonce)
        }

        if ((obj.timestamp != null && obj.timestamp !== 0n)) {
          w.uint32(48)
          w.uint64(obj.timestamp)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          schemaVersion: 0,
          overlay: '',
          bridge: uint8ArrayAlloc(0),
          expectedRemote: uint8ArrayAlloc(0),
          nonce: uint8ArrayAlloc(0),
          timestamp: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.schemaVersion = reader.uint32()
              break
            }
            case 2: {
              obj.overlay = reader.string()
              break
            }
            case 3: {
              obj.bridge = reader.bytes()
              break
            }
            case 4: {
              obj.expectedRemote = reader.bytes()
              break
            }
            case 5: {
              obj.nonce = reader.bytes()
              break
            }
            case 6: {
              obj.timestamp = reader.uint64()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.schemaVersion`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.overlay`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.bridge`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.expectedRemote`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.nonce`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.timestamp`,
                value: reader.uint64()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ChallengeSchemaVersionFieldEvent {
    field: '$.schemaVersion'
    value: number
  }

  export interface ChallengeOverlayFieldEvent {
    field: '$.overlay'
    value: string
  }

  export interface ChallengeBridgeFieldEvent {
    field: '$.bridge'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ChallengeExpectedRemoteFieldEvent {
    field: '$.expectedRemote'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ChallengeNonceFieldEvent {
    field: '$.nonce'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ChallengeTimestampFieldEvent {
    field: '$.timestamp'
    value: bigint
  }

  export function encode (obj: Partial<Challenge>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Challenge.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Challenge>): Challenge {
    return decodeMessage(buf, Challenge.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Challenge>): Generator<ChallengeSchemaVersionFieldEvent | ChallengeOverlayFieldEvent | ChallengeBridgeFieldEvent | ChallengeExpectedRemoteFieldEvent | ChallengeNonceFieldEvent | ChallengeTimestampFieldEvent> {
    return streamMessage(buf, Challenge.codec(), opts)
  }
}

export interface Envelope {
  challenge: Uint8Array<ArrayBuffer>
  publicKey: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
  token: string
  keyCertificate: string
}

export namespace Envelope {
  let _codec: Codec<Envelope>

  export const codec = (): Codec<Envelope> => {
    if (_codec == null) {
      _codec = message<Envelope>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.challenge != null && obj.challenge.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.challenge)
        }

        if ((obj.publicKey != null && obj.publicKey.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.publicKey)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.signature)
        }

        if ((obj.token != null && obj.token !== '')) {
          w.uint32(34)
          w.string(obj.token)
        }

        if ((obj.keyCertificate != null && obj.keyCertificate !== '')) {
          w.uint32(42)
          w.string(obj.keyCertificate)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          challenge: uint8ArrayAlloc(0),
          publicKey: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0),
          token: '',
          keyCertificate: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.challenge = reader.bytes()
              break
            }
            case 2: {
              obj.publicKey = reader.bytes()
              break
            }
            case 3: {
              obj.signature = reader.bytes()
              break
            }
            case 4: {
              obj.token = reader.string()
              break
            }
            case 5: {
              obj.keyCertificate = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.challenge`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.publicKey`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.token`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.keyCertificate`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface EnvelopeChallengeFieldEvent {
    field: '$.challenge'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EnvelopePublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EnvelopeSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EnvelopeTokenFieldEvent {
    field: '$.token'
    value: string
  }

  export interface EnvelopeKeyCertificateFieldEvent {
    field: '$.keyCertificate'
    value: string
  }

  export function encode (obj: Partial<Envelope>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Envelope.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Envelope {
    return decodeMessage(buf, Envelope.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Generator<EnvelopeChallengeFieldEvent | EnvelopePublicKeyFieldEvent | EnvelopeSignatureFieldEvent | EnvelopeTokenFieldEvent | EnvelopeKeyCertificateFieldEvent> {
    return streamMessage(buf, Envelope.codec(), opts)
  }
}

export interface Reply {
  envelope?: Envelope
  refused: string
}

export namespace Reply {
  let _codec: Codec<Reply>

  export const codec = (): Codec<Reply> => {
    if (_codec == null) {
      _codec = message<Reply>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.envelope != null) {
          w.uint32(10)
          Envelope.codec().encode(obj.envelope, w)
        }

        if ((obj.refused != null && obj.refused !== '')) {
          w.uint32(18)
          w.string(obj.refused)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          refused: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.envelope = Envelope.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.envelope
              })
              break
            }
            case 2: {
              obj.refused = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * Envelope.codec().stream(reader, reader.uint32(), `${prefix}.envelope`, {
                limits: opts.limits?.envelope
              })

              break
            }
            case 2: {
              yield {
                field: `${prefix}.refused`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ReplyEnvelopeChallengeFieldEvent {
    field: '$.envelope.challenge'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReplyEnvelopePublicKeyFieldEvent {
    field: '$.envelope.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReplyEnvelopeSignatureFieldEvent {
    field: '$.envelope.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReplyEnvelopeTokenFieldEvent {
    field: '$.envelope.token'
    value: string
  }

  export interface ReplyEnvelopeKeyCertificateFieldEvent {
    field: '$.envelope.keyCertificate'
    value: string
  }

  export interface ReplyRefusedFieldEvent {
    field: '$.refused'
    value: string
  }

  export function encode (obj: Partial<Reply>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Reply.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Reply>): Reply {
    return decodeMessage(buf, Reply.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Reply>): Generator<ReplyEnvelopeChallengeFieldEvent | ReplyEnvelopePublicKeyFieldEvent | ReplyEnvelopeSignatureFieldEvent | ReplyEnvelopeTokenFieldEvent | ReplyEnvelopeKeyCertificateFieldEvent | ReplyRefusedFieldEvent> {
    return streamMessage(buf, Reply.codec(), opts)
  }
}

export interface Crossing {
  bundle?: Uint8Array<ArrayBuffer>
  receipts: Uint8Array<ArrayBuffer>[]
  revocationList: string
}

export namespace Crossing {
  let _codec: Codec<Crossing>

  export const codec = (): Codec<Crossing> => {
    if (_codec == null) {
      _codec = message<Crossing>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.bundle != null) {
          w.uint32(10)
          w.bytes(obj.bundle)
        }

        if (obj.receipts != null && obj.receipts.length > 0) {
          for (const value of obj.receipts) {
            w.uint32(18)
            w.bytes(value)
          }
        }

        if ((obj.revocationList != null && obj.revocationList !== '')) {
          w.uint32(26)
          w.string(obj.revocationList)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          receipts: [],
          revocationList: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.bundle = reader.bytes()
              break
            }
            case 2: {
              if (opts.limits?.receipts != null && obj.receipts.length === opts.limits.receipts) {
                throw new MaxLengthError('Decode error - repeated field "receipts" had too many elements')
              }

              obj.receipts.push(reader.bytes())
              break
            }
            case 3: {
              obj.revocationList = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          receipts: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.bundle`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              if (opts.limits?.receipts != null && obj.receipts === opts.limits.receipts) {
                throw new MaxLengthError('Streaming decode error - repeated field "receipts" had too many elements')
              }

              yield {
                field: `${prefix}.receipts[]`,
                index: obj.receipts,
                value: reader.bytes()
              }

              obj.receipts++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.revocationList`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CrossingBundleFieldEvent {
    field: '$.bundle'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CrossingReceiptsFieldEvent {
    field: '$.receipts[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface CrossingRevocationListFieldEvent {
    field: '$.revocationList'
    value: string
  }

  export function encode (obj: Partial<Crossing>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Crossing.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Crossing>): Crossing {
    return decodeMessage(buf, Crossing.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Crossing>): Generator<CrossingBundleFieldEvent | CrossingReceiptsFieldEvent | CrossingRevocationListFieldEvent> {
    return streamMessage(buf, Crossing.codec(), opts)
  }
}

export interface CrossingAck {
  stored: boolean
}

export namespace CrossingAck {
  let _codec: Codec<CrossingAck>

  export const codec = (): Codec<CrossingAck> => {
    if (_codec == null) {
      _codec = message<CrossingAck>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.stored != null && obj.stored !== false)) {
          w.uint32(8)
          w.bool(obj.stored)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          stored: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.stored = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.stored`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CrossingAckStoredFieldEvent {
    field: '$.stored'
    value: boolean
  }

  export function encode (obj: Partial<CrossingAck>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CrossingAck.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CrossingAck>): CrossingAck {
    return decodeMessage(buf, CrossingAck.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CrossingAck>): Generator<CrossingAckStoredFieldEvent> {
    return streamMessage(buf, CrossingAck.codec(), opts)
  }
}
