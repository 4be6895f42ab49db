import { decodeMessage, encodeMessage, MaxLengthError, MaxSizeError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface GossipFrame {
  origin: Uint8Array<ArrayBuffer>
  token: string
  keyCertificate: string
  body: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace GossipFrame {
  let _codec: Codec<GossipFrame>

  export const codec = (): Codec<GossipFrame> => {
    if (_codec == null) {
      _codec = message<GossipFrame>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.origin != null && obj.origin.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.origin)
        }

        if ((obj.token != null && obj.token !== '')) {
          w.uint32(18)
          w.string(obj.token)
        }

        if ((obj.keyCertificate != null && obj.keyCertificate !== '')) {
          w.uint32(26)
          w.string(obj.keyCertificate)
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.body)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          origin: uint8ArrayAlloc(0),
          token: '',
          keyCertificate: '',
          body: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.origin = reader.bytes()
              break
            }
            case 2: {
              obj.token = reader.string()
              break
            }
            case 3: {
              obj.keyCertificate = reader.string()
              break
            }
            case 4: {
              obj.body = reader.bytes()
              break
            }
            case 5: {
              obj.signature = reader.bytes()
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
                field: `${prefix}.origin`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.token`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.keyCertificate`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
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

  export interface GossipFrameOriginFieldEvent {
    field: '$.origin'
    value: Uint8Array<ArrayBuffer>
  }

  export interface GossipFrameTokenFieldEvent {
    field: '$.token'
    value: string
  }

  export interface GossipFrameKeyCertificateFieldEvent {
    field: '$.keyCertificate'
    value: string
  }

  export interface GossipFrameBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface GossipFrameSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<GossipFrame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, GossipFrame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<GossipFrame>): GossipFrame {
    return decodeMessage(buf, GossipFrame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<GossipFrame>): Generator<GossipFrameOriginFieldEvent | GossipFrameTokenFieldEvent | GossipFrameKeyCertificateFieldEvent | GossipFrameBodyFieldEvent | GossipFrameSignatureFieldEvent> {
    return streamMessage(buf, GossipFrame.codec(), opts)
  }
}

export interface Anomaly {
  id: Uint8Array<ArrayBuffer>
  kind: string
  digest: Uint8Array<ArrayBuffer>
  severity: number
  metadata: Map<string, string>
  timestamp: bigint
  expires: bigint
  provenanceOverlay: string
  provenanceOrigin: Uint8Array<ArrayBuffer>
  provenanceSignature: Uint8Array<ArrayBuffer>
}

export namespace Anomaly {
  export interface Anomaly$metadataEntry {
    key: string
    value: string
  }

  export namespace Anomaly$metadataEntry {
    let _codec: Codec<Anomaly$metadataEntry>

    export const codec = (): Codec<Anomaly$metadataEntry> => {
      if (_codec == null) {
        _codec = message<Anomaly$metadataEntry>((obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork()
          }

          if ((obj.key != null && obj.key !== '')) {
            w.uint32(10)
            w.string(obj.key)
          }

          if ((obj.value != null && obj.value !== '')) {
            w.uint32(18)
            w.string(obj.value)
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim()
          }
        }, (reader, length, opts = {}) => {
          const obj: any = {
            key: '',
            value: ''
          }

          const end = length == null ? reader.len : reader.pos + length

          while (reader.pos < end) {
            const tag = reader.uint32()

            switch (tag >>> 3) {
              case 1: {
                obj.key = reader.string()
                break
              }
              case 2: {
                obj.value = reader.string()
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
                  field: `${prefix}.key`,
                  value: reader.string()
                }
                break
              }
              case 2: {
                yield {
                  field: `${prefix}.value`,
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

    export interface Anomaly$metadataEntryKeyFieldEvent {
      field: '$.key'
      value: string
    }

    export interface Anomaly$metadataEntryValueFieldEvent {
      field: '$.value'
      value: string
    }

    export function encode (obj: Partial<Anomaly$metadataEntry>): Uint8Array<ArrayBuffer> {
      return encodeMessage(obj, Anomaly$metadataEntry.codec())
    }

    export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Anomaly$metadataEntry>): Anomaly$metadataEntry {
      return decodeMessage(buf, Anomaly$metadataEntry.codec(), opts)
    }

    export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Anomaly$metadataEntry>): Generator<Anomaly$metadataEntryKeyFieldEvent | Anomaly$metadataEntryValueFieldEvent> {
      return streamMessage(buf, Anomaly$metadataEntry.codec(), opts)
    }
  }

  let _codec: Codec<Anomaly>

  export const codec = (): Codec<Anomaly> => {
    if (_codec == null) {
      _codec = message<Anomaly>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.id)
        }

        if ((obj.kind != null && obj.kind !== '')) {
          w.uint32(18)
          w.string(obj.kind)
        }

        if ((obj.digest != null && obj.digest.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.digest)
        }

        if ((obj.severity != null && obj.severity !== 0)) {
          w.uint32(32)
          w.uint32(obj.severity)
        }

        if (obj.metadata != null && obj.metadata.size > 0) {
          for (const [key, value] of obj.metadata.entries()) {
            w.uint32(42)
            Anomaly.Anomaly$metadataEntry.codec().encode({ key, value }, w)
          }
        }

        if ((obj.timestamp != null && obj.timestamp !== 0n)) {
          w.uint32(48)
          w.uint64(obj.timestamp)
        }

        if ((obj.expires != null && obj.expires !== 0n)) {
          w.uint32(56)
          w.uint64(obj.expires)
        }

        if ((obj.provenanceOverlay != null && obj.provenanceOverlay !== '')) {
          w.uint32(66)
          w.string(obj.provenanceOverlay)
        }

        if ((obj.provenanceOrigin != null && obj.provenanceOrigin.byteLength > 0)) {
          w.uint32(74)
          w.bytes(obj.provenanceOrigin)
        }

        if ((obj.provenanceSignature != null && obj.provenanceSignature.byteLength > 0)) {
          w.uint32(82)
          w.bytes(obj.provenanceSignature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: uint8ArrayAlloc(0),
          kind: '',
          digest: uint8ArrayAlloc(0),
          severity: 0,
          metadata: new Map<string, string>(),
          timestamp: 0n,
          expires: 0n,
          provenanceOverlay: '',
          provenanceOrigin: uint8ArrayAlloc(0),
          provenanceSignature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.bytes()
              break
            }
            case 2: {
              obj.kind = reader.string()
              break
            }
            case 3: {
              obj.digest = reader.bytes()
              break
            }
            case 4: {
              obj.severity = reader.uint32()
              break
            }
            case 5: {
              if (opts.limits?.metadata != null && obj.metadata.size === opts.limits.metadata) {
                throw new MaxSizeError('Decode error - map field "metadata" had too many elements')
              }

              const entry = Anomaly.Anomaly$metadataEntry.codec().decode(reader, reader.uint32(), {
                limits: {
                  value: opts.limits?.metadata$value
                }
              })
              obj.metadata.set(entry.key, entry.value)
              break
            }
            case 6: {
              obj.timestamp = reader.uint64()
              break
            }
            case 7: {
              obj.expires = reader.uint64()
              break
            }
            case 8: {
              obj.provenanceOverlay = reader.string()
              break
            }
            case 9: {
              obj.provenanceOrigin = reader.bytes()
              break
            }
            case 10: {
              obj.provenanceSignature = reader.bytes()
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
          metadata: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.kind`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.digest`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.severity`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              if (opts.limits?.metadata != null && obj.metadata === opts.limits.metadata) {
                throw new MaxLengthError('Decode error - map field "metadata" had too many elements')
              }

              yield * Anomaly.Anomaly$metadataEntry.codec().stream(reader, reader.uint32(), `${prefix}.metadata{}`, {
                limits: {
                  value: opts.limits?.metadata$value
                }
              })

              obj.metadata++

              break
            }
            case 6: {
              yield {
                field: `${prefix}.timestamp`,
                value: reader.uint64()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.expires`,
                value: reader.uint64()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.provenanceOverlay`,
                value: reader.string()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.provenanceOrigin`,
                value: reader.bytes()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.provenanceSignature`,
                value: reader.bytes()
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

  export interface AnomalyIdFieldEvent {
    field: '$.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AnomalyKindFieldEvent {
    field: '$.kind'
    value: string
  }

  export interface AnomalyDigestFieldEvent {
    field: '$.digest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AnomalySeverityFieldEvent {
    field: '$.severity'
    value: number
  }

  export interface AnomalyMetadataFieldEvent {
    field: '$.metadata{}'
    key: string
    value: string
  }

  export interface AnomalyTimestampFieldEvent {
    field: '$.timestamp'
    value: bigint
  }

  export interface AnomalyExpiresFieldEvent {
    field: '$.expires'
    value: bigint
  }

  export interface AnomalyProvenanceOverlayFieldEvent {
    field: '$.provenanceOverlay'
    value: string
  }

  export interface AnomalyProvenanceOriginFieldEvent {
    field: '$.provenanceOrigin'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AnomalyProvenanceSignatureFieldEvent {
    field: '$.provenanceSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Anomaly>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Anomaly.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Anomaly>): Anomaly {
    return decodeMessage(buf, Anomaly.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Anomaly>): Generator<AnomalyIdFieldEvent | AnomalyKindFieldEvent | AnomalyDigestFieldEvent | AnomalySeverityFieldEvent | AnomalyMetadataFieldEvent | AnomalyTimestampFieldEvent | AnomalyExpiresFieldEvent | AnomalyProvenanceOverlayFieldEvent | AnomalyProvenanceOriginFieldEvent | AnomalyProvenanceSignatureFieldEvent> {
    return streamMessage(buf, Anomaly.codec(), opts)
  }
}

export interface CatchUpRequest {
  since: bigint
  afterId: Uint8Array<ArrayBuffer>
  limit: number
  digestStart: bigint
  digestSpan: number
  digests: Uint8Array<ArrayBuffer>
}

export namespace CatchUpRequest {
  let _codec: Codec<CatchUpRequest>

  export const codec = (): Codec<CatchUpRequest> => {
    if (_codec == null) {
      _codec = message<CatchUpRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.since != null && obj.since !== 0n)) {
          w.uint32(8)
          w.uint64(obj.since)
        }

        if ((obj.afterId != null && obj.afterId.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.afterId)
        }

        if ((obj.limit != null && obj.limit !== 0)) {
          w.uint32(24)
          w.uint32(obj.limit)
        }

        if ((obj.digestStart != null && obj.digestStart !== 0n)) {
          w.uint32(32)
          w.uint64(obj.digestStart)
        }

        if ((obj.digestSpan != null && obj.digestSpan !== 0)) {
          w.uint32(40)
          w.uint32(obj.digestSpan)
        }

        if ((obj.digests != null && obj.digests.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.digests)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          since: 0n,
          afterId: uint8ArrayAlloc(0),
          limit: 0,
          digestStart: 0n,
          digestSpan: 0,
          digests: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.since = reader.uint64()
              break
            }
            case 2: {
              obj.afterId = reader.bytes()
              break
            }
            case 3: {
              obj.limit = reader.uint32()
              break
            }
            case 4: {
              obj.digestStart = reader.uint64()
              break
            }
            case 5: {
              obj.digestSpan = reader.uint32()
              break
            }
            case 6: {
              obj.digests = reader.bytes()
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
                field: `${prefix}.since`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.afterId`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.limit`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.digestStart`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.digestSpan`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.digests`,
                value: reader.bytes()
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

  export interface CatchUpRequestSinceFieldEvent {
    field: '$.since'
    value: bigint
  }

  export interface CatchUpRequestAfterIdFieldEvent {
    field: '$.afterId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CatchUpRequestLimitFieldEvent {
    field: '$.limit'
    value: number
  }

  export interface CatchUpRequestDigestStartFieldEvent {
    field: '$.digestStart'
    value: bigint
  }

  export interface CatchUpRequestDigestSpanFieldEvent {
    field: '$.digestSpan'
    value: number
  }

  export interface CatchUpRequestDigestsFieldEvent {
    field: '$.digests'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<CatchUpRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CatchUpRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CatchUpRequest>): CatchUpRequest {
    return decodeMessage(buf, CatchUpRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CatchUpRequest>): Generator<CatchUpRequestSinceFieldEvent | CatchUpRequestAfterIdFieldEvent | CatchUpRequestLimitFieldEvent | CatchUpRequestDigestStartFieldEvent | CatchUpRequestDigestSpanFieldEvent | CatchUpRequestDigestsFieldEvent> {
    return streamMessage(buf, CatchUpRequest.codec(), opts)
  }
}

export interface CatchUpResponse {
  frames: Uint8Array<ArrayBuffer>[]
  more: boolean
}

export namespace CatchUpResponse {
  let _codec: Codec<CatchUpResponse>

  export const codec = (): Codec<CatchUpResponse> => {
    if (_codec == null) {
      _codec = message<CatchUpResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.frames != null && obj.frames.length > 0) {
          for (const value of obj.frames) {
            w.uint32(10)
            w.bytes(value)
          }
        }

        if ((obj.more != null && obj.more !== false)) {
          w.uint32(16)
          w.bool(obj.more)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          frames: [],
          more: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.frames != null && obj.frames.length === opts.limits.frames) {
                throw new MaxLengthError('Decode error - repeated field "frames" had too many elements')
              }

              obj.frames.push(reader.bytes())
              break
            }
            case 2: {
              obj.more = reader.bool()
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
          frames: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.frames != null && obj.frames === opts.limits.frames) {
                throw new MaxLengthError('Streaming decode error - repeated field "frames" had too many elements')
              }

              yield {
                field: `${prefix}.frames[]`,
                index: obj.frames,
                value: reader.bytes()
              }

              obj.frames++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.more`,
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

  export interface CatchUpResponseFramesFieldEvent {
    field: '$.frames[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface CatchUpResponseMoreFieldEvent {
    field: '$.more'
    value: boolean
  }

  export function encode (obj: Partial<CatchUpResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CatchUpResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CatchUpResponse>): CatchUpResponse {
    return decodeMessage(buf, CatchUpResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CatchUpResponse>): Generator<CatchUpResponseFramesFieldEvent | CatchUpResponseMoreFieldEvent> {
    return streamMessage(buf, CatchUpResponse.codec(), opts)
  }
}
