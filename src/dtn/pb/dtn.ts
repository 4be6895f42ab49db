import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface BundleHeader {
  id: Uint8Array<ArrayBuffer>
  source: Uint8Array<ArrayBuffer>
  destinationKind: number
  destinationPeer: Uint8Array<ArrayBuffer>
  destinationType: string
  createdAt: bigint
  lifetime: bigint
  hopLimit: number
  totalLength: bigint
  fragmentOffset: bigint
  payloadDigest: Uint8Array<ArrayBuffer>
  ephemeralKey: Uint8Array<ArrayBuffer>
  nonce: Uint8Array<ArrayBuffer>
  copies: number
  destinationOverlay: string
}

export namespace BundleHeader {
  let _codec: Codec<BundleHeader>

  export const codec = (): Codec<BundleHeader> => {
    if (_codec == null) {
      _codec = message<BundleHeader>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.id)
        }

        if ((obj.source != null && obj.source.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.source)
        }

        if ((obj.destinationKind != null && obj.destinationKind !== 0)) {
          w.uint32(24)
          w.uint32(obj.destinationKind)
        }

        if ((obj.destinationPeer != null && obj.destinationPeer.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.destinationPeer)
        }

        if ((obj.destinationType != null && obj.destinationType !== '')) {
          w.uint32(42)
          w.string(obj.destinationType)
        }

        if ((obj.createdAt != null && obj.createdAt !== 0n)) {
          w.uint32(48)
          w.uint64(obj.createdAt)
        }

        if ((obj.lifetime != null && obj.lifetime !== 0n)) {
          w.uint32(56)
          w.uint64(obj.lifetime)
        }

        if ((obj.hopLimit != null && obj.hopLimit !== 0)) {
          w.uint32(64)
          w.uint32(obj.hopLimit)
        }

        if ((obj.totalLength != null && obj.totalLength !== 0n)) {
          w.uint32(72)
          w.uint64(obj.totalLength)
        }

        if ((obj.fragmentOffset != null && obj.fragmentOffset !== 0n)) {
          w.uint32(80)
          w.uint64(obj.fragmentOffset)
        }

        if ((obj.payloadDigest != null && obj.payloadDigest.byteLength > 0)) {
          w.uint32(90)
          w.bytes(obj.payloadDigest)
        }

        if ((obj.ephemeralKey != null && obj.ephemeralKey.byteLength > 0)) {
          w.uint32(98)
          w.bytes(obj.ephemeralKey)
        }

        if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
          w.uint32(106)
          w.bytes(obj.nonce)
        }

        if ((obj.copies != null && obj.copies !== 0)) {
          w.uint32(112)
          w.uint32(obj.copies)
        }

        if ((obj.destinationOverlay != null && obj.destinationOverlay !== '')) {
          w.uint32(122)
          w.string(obj.destinationOverlay)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: uint8ArrayAlloc(0),
          source: uint8ArrayAlloc(0),
          destinationKind: 0,
          destinationPeer: uint8ArrayAlloc(0),
          destinationType: '',
          createdAt: 0n,
          lifetime: 0n,
          hopLimit: 0,
          totalLength: 0n,
          fragmentOffset: 0n,
          payloadDigest: uint8ArrayAlloc(0),
          ephemeralKey: uint8ArrayAlloc(0),
          nonce: uint8ArrayAlloc(0),
          copies: 0,
          destinationOverlay: ''
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
              obj.source = reader.bytes()
              break
            }
            case 3: {
              obj.destinationKind = reader.uint32()
              break
            }
            case 4: {
              obj.destinationPeer = reader.bytes()
              break
            }
            case 5: {
              obj.destinationType = reader.string()
              break
            }
            case 6: {
              obj.createdAt = reader.uint64()
              break
            }
            case 7: {
              obj.lifetime = reader.uint64()
              break
            }
            case 8: {
              obj.hopLimit = reader.uint32()
              break
            }
            case 9: {
              obj.totalLength = reader.uint64()
              break
            }
            case 10: {
              obj.fragmentOffset = reader.uint64()
              break
            }
            case 11: {
              obj.payloadDigest = reader.bytes()
              break
            }
            case 12: {
              obj.ephemeralKey = reader.bytes()
              break
            }
            case 13: {
              obj.nonce = reader.bytes()
              break
            }
            case 14: {
              obj.copies = reader.uint32()
              break
            }
            case 15: {
              obj.destinationOverlay = reader.string()
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
                field: `${prefix}.id`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.source`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.destinationKind`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.destinationPeer`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.destinationType`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.createdAt`,
                value: reader.uint64()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.lifetime`,
                value: reader.uint64()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.hopLimit`,
                value: reader.uint32()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.totalLength`,
                value: reader.uint64()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.fragmentOffset`,
                value: reader.uint64()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.payloadDigest`,
                value: reader.bytes()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.ephemeralKey`,
                value: reader.bytes()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.nonce`,
                value: reader.bytes()
              }
              break
            }
            case 14: {
              yield {
                field: `${prefix}.copies`,
                value: reader.uint32()
              }
              break
            }
            case 15: {
              yield {
                field: `${prefix}.destinationOverlay`,
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

  export interface BundleHeaderIdFieldEvent {
    field: '$.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BundleHeaderSourceFieldEvent {
    field: '$.source'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BundleHeaderDestinationKindFieldEvent {
    field: '$.destinationKind'
    value: number
  }

  export interface BundleHeaderDestinationPeerFieldEvent {
    field: '$.destinationPeer'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BundleHeaderDestinationTypeFieldEvent {
    field: '$.destinationType'
    value: string
  }

  export interface BundleHeaderCreatedAtFieldEvent {
    field: '$.createdAt'
    value: bigint
  }

  export interface BundleHeaderLifetimeFieldEvent {
    field: '$.lifetime'
    value: bigint
  }

  export interface BundleHeaderHopLimitFieldEvent {
    field: '$.hopLimit'
    value: number
  }

  export interface BundleHeaderTotalLengthFieldEvent {
    field: '$.totalLength'
    value: bigint
  }

  export interface BundleHeaderFragmentOffsetFieldEvent {
    field: '$.fragmentOffset'
    value: bigint
  }

  export interface BundleHeaderPayloadDigestFieldEvent {
    field: '$.payloadDigest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BundleHeaderEphemeralKeyFieldEvent {
    field: '$.ephemeralKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BundleHeaderNonceFieldEvent {
    field: '$.nonce'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BundleHeaderCopiesFieldEvent {
    field: '$.copies'
    value: number
  }

  export interface BundleHeaderDestinationOverlayFieldEvent {
    field: '$.destinationOverlay'
    value: string
  }

  export function encode (obj: Partial<BundleHeader>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, BundleHeader.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BundleHeader>): BundleHeader {
    return decodeMessage(buf, BundleHeader.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BundleHeader>): Generator<BundleHeaderIdFieldEvent | BundleHeaderSourceFieldEvent | BundleHeaderDestinationKindFieldEvent | BundleHeaderDestinationPeerFieldEvent | BundleHeaderDestinationTypeFieldEvent | BundleHeaderCreatedAtFieldEvent | BundleHeaderLifetimeFieldEvent | BundleHeaderHopLimitFieldEvent | BundleHeaderTotalLengthFieldEvent | BundleHeaderFragmentOffsetFieldEvent | BundleHeaderPayloadDigestFieldEvent | BundleHeaderEphemeralKeyFieldEvent | BundleHeaderNonceFieldEvent | BundleHeaderCopiesFieldEvent | BundleHeaderDestinationOverlayFieldEvent> {
    return streamMessage(buf, BundleHeader.codec(), opts)
  }
}

export interface Endorsement {
  bridge: Uint8Array<ArrayBuffer>
  sourceOverlay: string
  endorsedAt: bigint
  signature: Uint8Array<ArrayBuffer>
  token: string
  keyCertificate: string
}

export namespace Endorsement {
  let _codec: Codec<Endorsement>

  export const codec = (): Codec<Endorsement> => {
    if (_codec == null) {
      _codec = message<Endorsement>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.bridge != null && obj.bridge.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.bridge)
        }

        if ((obj.sourceOverlay != null && obj.sourceOverlay !== '')) {
          w.uint32(18)
          w.string(obj.sourceOverlay)
        }

        if ((obj.endorsedAt != null && obj.endorsedAt !== 0n)) {
          w.uint32(24)
          w.uint64(obj.endorsedAt)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.signature)
        }

        if ((obj.token != null && obj.token !== '')) {
          w.uint32(42)
          w.string(obj.token)
        }

        if ((obj.keyCertificate != null && obj.keyCertificate !== '')) {
          w.uint32(50)
          w.string(obj.keyCertificate)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          bridge: uint8ArrayAlloc(0),
          sourceOverlay: '',
          endorsedAt: 0n,
          signature: uint8ArrayAlloc(0),
          token: '',
          keyCertificate: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.bridge = reader.bytes()
              break
            }
            case 2: {
              obj.sourceOverlay = reader.string()
              break
            }
            case 3: {
              obj.endorsedAt = reader.uint64()
              break
            }
            case 4: {
              obj.signature = reader.bytes()
              break
            }
            case 5: {
              obj.token = reader.string()
              break
            }
            case 6: {
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
                field: `${prefix}.bridge`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.sourceOverlay`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.endorsedAt`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.token`,
                value: reader.string()
              }
              break
            }
            case 6: {
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

  export interface EndorsementBridgeFieldEvent {
    field: '$.bridge'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EndorsementSourceOverlayFieldEvent {
    field: '$.sourceOverlay'
    value: string
  }

  export interface EndorsementEndorsedAtFieldEvent {
    field: '$.endorsedAt'
    value: bigint
  }

  export interface EndorsementSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EndorsementTokenFieldEvent {
    field: '$.token'
    value: string
  }

  export interface EndorsementKeyCertificateFieldEvent {
    field: '$.keyCertificate'
    value: string
  }

  export function encode (obj: Partial<Endorsement>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Endorsement.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Endorsement>): Endorsement {
    return decodeMessage(buf, Endorsement.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Endorsement>): Generator<EndorsementBridgeFieldEvent | EndorsementSourceOverlayFieldEvent | EndorsementEndorsedAtFieldEvent | EndorsementSignatureFieldEvent | EndorsementTokenFieldEvent | EndorsementKeyCertificateFieldEvent> {
    return streamMessage(buf, Endorsement.codec(), opts)
  }
}

export interface Bundle {
  header: Uint8Array<ArrayBuffer>
  payload: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
  token: string
  keyCertificate: string
  hops: number
  copies: number
  endorsement?: Endorsement
}

export namespace Bundle {
  let _codec: Codec<Bundle>

  export const codec = (): Codec<Bundle> => {
    if (_codec == null) {
      _codec = message<Bundle>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.header != null && obj.header.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.header)
        }

        if ((obj.payload != null && obj.payload.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.payload)
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

        if ((obj.hops != null && obj.hops !== 0)) {
          w.uint32(48)
          w.uint32(obj.hops)
        }

        if ((obj.copies != null && obj.copies !== 0)) {
          w.uint32(56)
          w.uint32(obj.copies)
        }

        if (obj.endorsement != null) {
          w.uint32(66)
          Endorsement.codec().encode(obj.endorsement, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          header: uint8ArrayAlloc(0),
          payload: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0),
          token: '',
          keyCertificate: '',
          hops: 0,
          copies: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.header = reader.bytes()
              break
            }
            case 2: {
              obj.payload = reader.bytes()
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
            case 6: {
              obj.hops = reader.uint32()
              break
            }
            case 7: {
              obj.copies = reader.uint32()
              break
            }
            case 8: {
              obj.endorsement = Endorsement.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.endorsement
              })
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
                field: `${prefix}.header`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.payload`,
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
            case 6: {
              yield {
                field: `${prefix}.hops`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.copies`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield * Endorsement.codec().stream(reader, reader.uint32(), `${prefix}.endorsement`, {
                limits: opts.limits?.endorsement
              })

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

  export interface BundleHeaderFieldEvent {
    field: '$.header'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BundlePayloadFieldEvent {
    field: '$.payload'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BundleSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BundleTokenFieldEvent {
    field: '$.token'
    value: string
  }

  export interface BundleKeyCertificateFieldEvent {
    field: '$.keyCertificate'
    value: string
  }

  export interface BundleHopsFieldEvent {
    field: '$.hops'
    value: number
  }

  export interface BundleCopiesFieldEvent {
    field: '$.copies'
    value: number
  }

  export interface BundleEndorsementBridgeFieldEvent {
    field: '$.endorsement.bridge'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BundleEndorsementSourceOverlayFieldEvent {
    field: '$.endorsement.sourceOverlay'
    value: string
  }

  export interface BundleEndorsementEndorsedAtFieldEvent {
    field: '$.endorsement.endorsedAt'
    value: bigint
  }

  export interface BundleEndorsementSignatureFieldEvent {
    field: '$.endorsement.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BundleEndorsementTokenFieldEvent {
    field: '$.endorsement.token'
    value: string
  }

  export interface BundleEndorsementKeyCertificateFieldEvent {
    field: '$.endorsement.keyCertificate'
    value: string
  }

  export function encode (obj: Partial<Bundle>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Bundle.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Bundle>): Bundle {
    return decodeMessage(buf, Bundle.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Bundle>): Generator<BundleHeaderFieldEvent | BundlePayloadFieldEvent | BundleSignatureFieldEvent | BundleTokenFieldEvent | BundleKeyCertificateFieldEvent | BundleHopsFieldEvent | BundleCopiesFieldEvent | BundleEndorsementBridgeFieldEvent | BundleEndorsementSourceOverlayFieldEvent | BundleEndorsementEndorsedAtFieldEvent | BundleEndorsementSignatureFieldEvent | BundleEndorsementTokenFieldEvent | BundleEndorsementKeyCertificateFieldEvent> {
    return streamMessage(buf, Bundle.codec(), opts)
  }
}

export interface ReceiptBody {
  id: Uint8Array<ArrayBuffer>
  destination: Uint8Array<ArrayBuffer>
  source: Uint8Array<ArrayBuffer>
  deliveredAt: bigint
  expiresAt: bigint
}

export namespace ReceiptBody {
  let _codec: Codec<ReceiptBody>

  export const codec = (): Codec<ReceiptBody> => {
    if (_codec == null) {
      _codec = message<ReceiptBody>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.id)
        }

        if ((obj.destination != null && obj.destination.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.destination)
        }

        if ((obj.source != null && obj.source.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.source)
        }

        if ((obj.deliveredAt != null && obj.deliveredAt !== 0n)) {
          w.uint32(32)
          w.uint64(obj.deliveredAt)
        }

        if ((obj.expiresAt != null && obj.expiresAt !== 0n)) {
          w.uint32(40)
          w.uint64(obj.expiresAt)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: uint8ArrayAlloc(0),
          destination: uint8ArrayAlloc(0),
          source: uint8ArrayAlloc(0),
          deliveredAt: 0n,
          expiresAt: 0n
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
              obj.destination = reader.bytes()
              break
            }
            case 3: {
              obj.source = reader.bytes()
              break
            }
            case 4: {
              obj.deliveredAt = reader.uint64()
              break
            }
            case 5: {
              obj.expiresAt = reader.uint64()
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
                field: `${prefix}.id`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.destination`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.source`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.deliveredAt`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.expiresAt`,
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

  export interface ReceiptBodyIdFieldEvent {
    field: '$.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodyDestinationFieldEvent {
    field: '$.destination'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodySourceFieldEvent {
    field: '$.source'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodyDeliveredAtFieldEvent {
    field: '$.deliveredAt'
    value: bigint
  }

  export interface ReceiptBodyExpiresAtFieldEvent {
    field: '$.expiresAt'
    value: bigint
  }

  export function encode (obj: Partial<ReceiptBody>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ReceiptBody.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptBody>): ReceiptBody {
    return decodeMessage(buf, ReceiptBody.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptBody>): Generator<ReceiptBodyIdFieldEvent | ReceiptBodyDestinationFieldEvent | ReceiptBodySourceFieldEvent | ReceiptBodyDeliveredAtFieldEvent | ReceiptBodyExpiresAtFieldEvent> {
    return streamMessage(buf, ReceiptBody.codec(), opts)
  }
}

export interface Receipt {
  body: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace Receipt {
  let _codec: Codec<Receipt>

  export const codec = (): Codec<Receipt> => {
    if (_codec == null) {
      _codec = message<Receipt>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.body)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          body: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.body = reader.bytes()
              break
            }
            case 2: {
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
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
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

  export interface ReceiptBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Receipt>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Receipt.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Receipt>): Receipt {
    return decodeMessage(buf, Receipt.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Receipt>): Generator<ReceiptBodyFieldEvent | ReceiptSignatureFieldEvent> {
    return streamMessage(buf, Receipt.codec(), opts)
  }
}

export interface FragmentKey {
  id: Uint8Array<ArrayBuffer>
  offset: bigint
  length: number
}

export namespace FragmentKey {
  let _codec: Codec<FragmentKey>

  export const codec = (): Codec<FragmentKey> => {
    if (_codec == null) {
      _codec = message<FragmentKey>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.id)
        }

        if ((obj.offset != null && obj.offset !== 0n)) {
          w.uint32(16)
          w.uint64(obj.offset)
        }

        if ((obj.length != null && obj.length !== 0)) {
          w.uint32(24)
          w.uint32(obj.length)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: uint8ArrayAlloc(0),
          offset: 0n,
          length: 0
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
              obj.offset = reader.uint64()
              break
            }
            case 3: {
              obj.length = reader.uint32()
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
                field: `${prefix}.id`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.offset`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.length`,
                value: reader.uint32()
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

  export interface FragmentKeyIdFieldEvent {
    field: '$.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface FragmentKeyOffsetFieldEvent {
    field: '$.offset'
    value: bigint
  }

  export interface FragmentKeyLengthFieldEvent {
    field: '$.length'
    value: number
  }

  export function encode (obj: Partial<FragmentKey>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, FragmentKey.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FragmentKey>): FragmentKey {
    return decodeMessage(buf, FragmentKey.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FragmentKey>): Generator<FragmentKeyIdFieldEvent | FragmentKeyOffsetFieldEvent | FragmentKeyLengthFieldEvent> {
    return streamMessage(buf, FragmentKey.codec(), opts)
  }
}

export interface Offer {
  keys: FragmentKey[]
  receipts: Receipt[]
}

export namespace Offer {
  let _codec: Codec<Offer>

  export const codec = (): Codec<Offer> => {
    if (_codec == null) {
      _codec = message<Offer>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.keys != null && obj.keys.length > 0) {
          for (const value of obj.keys) {
            w.uint32(10)
            FragmentKey.codec().encode(value, w)
          }
        }

        if (obj.receipts != null && obj.receipts.length > 0) {
          for (const value of obj.receipts) {
            w.uint32(18)
            Receipt.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          keys: [],
          receipts: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.keys != null && obj.keys.length === opts.limits.keys) {
                throw new MaxLengthError('Decode error - repeated field "keys" had too many elements')
              }

              obj.keys.push(FragmentKey.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.keys$
              }))
              break
            }
            case 2: {
              if (opts.limits?.receipts != null && obj.receipts.length === opts.limits.receipts) {
                throw new MaxLengthError('Decode error - repeated field "receipts" had too many elements')
              }

              obj.receipts.push(Receipt.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.receipts$
              }))
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
          keys: 0,
          receipts: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.keys != null && obj.keys === opts.limits.keys) {
                throw new MaxLengthError('Streaming decode error - repeated field "keys" had too many elements')
              }

              for (const evt of FragmentKey.codec().stream(reader, reader.uint32(), `${prefix}.keys[]`, {
                limits: opts.limits?.keys$
              })) {
                yield {
                  ...evt,
                  index: obj.keys
                }
              }

              obj.keys++

              break
            }
            case 2: {
              if (opts.limits?.receipts != null && obj.receipts === opts.limits.receipts) {
                throw new MaxLengthError('Streaming decode error - repeated field "receipts" had too many elements')
              }

              for (const evt of Receipt.codec().stream(reader, reader.uint32(), `${prefix}.receipts[]`, {
                limits: opts.limits?.receipts$
              })) {
                yield {
                  ...evt,
                  index: obj.receipts
                }
              }

              obj.receipts++

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

  export interface OfferKeysIdFieldEvent {
    field: '$.keys[].id'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface OfferKeysOffsetFieldEvent {
    field: '$.keys[].offset'
    value: bigint
    index: number
  }

  export interface OfferKeysLengthFieldEvent {
    field: '$.keys[].length'
    value: number
    index: number
  }

  export interface OfferReceiptsBodyFieldEvent {
    field: '$.receipts[].body'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface OfferReceiptsSignatureFieldEvent {
    field: '$.receipts[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<Offer>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Offer.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Offer>): Offer {
    return decodeMessage(buf, Offer.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Offer>): Generator<OfferKeysIdFieldEvent | OfferKeysOffsetFieldEvent | OfferKeysLengthFieldEvent | OfferReceiptsBodyFieldEvent | OfferReceiptsSignatureFieldEvent> {
    return streamMessage(buf, Offer.codec(), opts)
  }
}

export interface Want {
  keys: FragmentKey[]
  receipts: Receipt[]
}

export namespace Want {
  let _codec: Codec<Want>

  export const codec = (): Codec<Want> => {
    if (_codec == null) {
      _codec = message<Want>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.keys != null && obj.keys.length > 0) {
          for (const value of obj.keys) {
            w.uint32(10)
            FragmentKey.codec().encode(value, w)
          }
        }

        if (obj.receipts != null && obj.receipts.length > 0) {
          for (const value of obj.receipts) {
            w.uint32(18)
            Receipt.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          keys: [],
          receipts: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.keys != null && obj.keys.length === opts.limits.keys) {
                throw new MaxLengthError('Decode error - repeated field "keys" had too many elements')
              }

              obj.keys.push(FragmentKey.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.keys$
              }))
              break
            }
            case 2: {
              if (opts.limits?.receipts != null && obj.receipts.length === opts.limits.receipts) {
                throw new MaxLengthError('Decode error - repeated field "receipts" had too many elements')
              }

              obj.receipts.push(Receipt.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.receipts$
              }))
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
          keys: 0,
          receipts: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.keys != null && obj.keys === opts.limits.keys) {
                throw new MaxLengthError('Streaming decode error - repeated field "keys" had too many elements')
              }

              for (const evt of FragmentKey.codec().stream(reader, reader.uint32(), `${prefix}.keys[]`, {
                limits: opts.limits?.keys$
              })) {
                yield {
                  ...evt,
                  index: obj.keys
                }
              }

              obj.keys++

              break
            }
            case 2: {
              if (opts.limits?.receipts != null && obj.receipts === opts.limits.receipts) {
                throw new MaxLengthError('Streaming decode error - repeated field "receipts" had too many elements')
              }

              for (const evt of Receipt.codec().stream(reader, reader.uint32(), `${prefix}.receipts[]`, {
                limits: opts.limits?.receipts$
              })) {
                yield {
                  ...evt,
                  index: obj.receipts
                }
              }

              obj.receipts++

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

  export interface WantKeysIdFieldEvent {
    field: '$.keys[].id'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface WantKeysOffsetFieldEvent {
    field: '$.keys[].offset'
    value: bigint
    index: number
  }

  export interface WantKeysLengthFieldEvent {
    field: '$.keys[].length'
    value: number
    index: number
  }

  export interface WantReceiptsBodyFieldEvent {
    field: '$.receipts[].body'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface WantReceiptsSignatureFieldEvent {
    field: '$.receipts[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<Want>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Want.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Want>): Want {
    return decodeMessage(buf, Want.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Want>): Generator<WantKeysIdFieldEvent | WantKeysOffsetFieldEvent | WantKeysLengthFieldEvent | WantReceiptsBodyFieldEvent | WantReceiptsSignatureFieldEvent> {
    return streamMessage(buf, Want.codec(), opts)
  }
}

export interface Ack {
  stored: boolean
}

export namespace Ack {
  let _codec: Codec<Ack>

  export const codec = (): Codec<Ack> => {
    if (_codec == null) {
      _codec = message<Ack>((obj, w, opts = {}) => {
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

  export interface AckStoredFieldEvent {
    field: '$.stored'
    value: boolean
  }

  export function encode (obj: Partial<Ack>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Ack.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ack>): Ack {
    return decodeMessage(buf, Ack.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ack>): Generator<AckStoredFieldEvent> {
    return streamMessage(buf, Ack.codec(), opts)
  }
}

export interface DtnFrame {
  offer?: Offer
  want?: Want
  bundle?: Bundle
  ack?: Ack
  done?: boolean
}

export namespace DtnFrame {
  let _codec: Codec<DtnFrame>

  export const codec = (): Codec<DtnFrame> => {
    if (_codec == null) {
      _codec = message<DtnFrame>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.offer != null) {
          w.uint32(10)
          Offer.codec().encode(obj.offer, w)
        }

        if (obj.want != null) {
          w.uint32(18)
          Want.codec().encode(obj.want, w)
        }

        if (obj.bundle != null) {
          w.uint32(26)
          Bundle.codec().encode(obj.bundle, w)
        }

        if (obj.ack != null) {
          w.uint32(34)
          Ack.codec().encode(obj.ack, w)
        }

        if (obj.done != null) {
          w.uint32(40)
          w.bool(obj.done)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.offer = Offer.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.offer
              })
              break
            }
            case 2: {
              obj.want = Want.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.want
              })
              break
            }
            case 3: {
              obj.bundle = Bundle.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.bundle
              })
              break
            }
            case 4: {
              obj.ack = Ack.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ack
              })
              break
            }
            case 5: {
              obj.done = reader.bool()
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
              yield * Offer.codec().stream(reader, reader.uint32(), `${prefix}.offer`, {
                limits: opts.limits?.offer
              })

              break
            }
            case 2: {
              yield * Want.codec().stream(reader, reader.uint32(), `${prefix}.want`, {
                limits: opts.limits?.want
              })

              break
            }
            case 3: {
              yield * Bundle.codec().stream(reader, reader.uint32(), `${prefix}.bundle`, {
                limits: opts.limits?.bundle
              })

              break
            }
            case 4: {
              yield * Ack.codec().stream(reader, reader.uint32(), `${prefix}.ack`, {
                limits: opts.limits?.ack
              })

              break
            }
            case 5: {
              yield {
                field: `${prefix}.done`,
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

  export interface DtnFrameOfferKeysIdFieldEvent {
    field: '$.offer.keys[].id'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface DtnFrameOfferKeysOffsetFieldEvent {
    field: '$.offer.keys[].offset'
    value: bigint
    index: number
  }

  export interface DtnFrameOfferKeysLengthFieldEvent {
    field: '$.offer.keys[].length'
    value: number
    index: number
  }

  export interface DtnFrameOfferReceiptsBodyFieldEvent {
    field: '$.offer.receipts[].body'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface DtnFrameOfferReceiptsSignatureFieldEvent {
    field: '$.offer.receipts[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface DtnFrameWantKeysIdFieldEvent {
    field: '$.want.keys[].id'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface DtnFrameWantKeysOffsetFieldEvent {
    field: '$.want.keys[].offset'
    value: bigint
    index: number
  }

  export interface DtnFrameWantKeysLengthFieldEvent {
    field: '$.want.keys[].length'
    value: number
    index: number
  }

  export interface DtnFrameWantReceiptsBodyFieldEvent {
    field: '$.want.receipts[].body'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface DtnFrameWantReceiptsSignatureFieldEvent {
    field: '$.want.receipts[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface DtnFrameBundleHeaderFieldEvent {
    field: '$.bundle.header'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DtnFrameBundlePayloadFieldEvent {
    field: '$.bundle.payload'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DtnFrameBundleSignatureFieldEvent {
    field: '$.bundle.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DtnFrameBundleTokenFieldEvent {
    field: '$.bundle.token'
    value: string
  }

  export interface DtnFrameBundleKeyCertificateFieldEvent {
    field: '$.bundle.keyCertificate'
    value: string
  }

  export interface DtnFrameBundleHopsFieldEvent {
    field: '$.bundle.hops'
    value: number
  }

  export interface DtnFrameBundleCopiesFieldEvent {
    field: '$.bundle.copies'
    value: number
  }

  export interface DtnFrameBundleEndorsementBridgeFieldEvent {
    field: '$.bundle.endorsement.bridge'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DtnFrameBundleEndorsementSourceOverlayFieldEvent {
    field: '$.bundle.endorsement.sourceOverlay'
    value: string
  }

  export interface DtnFrameBundleEndorsementEndorsedAtFieldEvent {
    field: '$.bundle.endorsement.endorsedAt'
    value: bigint
  }

  export interface DtnFrameBundleEndorsementSignatureFieldEvent {
    field: '$.bundle.endorsement.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DtnFrameBundleEndorsementTokenFieldEvent {
    field: '$.bundle.endorsement.token'
    value: string
  }

  export interface DtnFrameBundleEndorsementKeyCertificateFieldEvent {
    field: '$.bundle.endorsement.keyCertificate'
    value: string
  }

  export interface DtnFrameAckStoredFieldEvent {
    field: '$.ack.stored'
    value: boolean
  }

  export interface DtnFrameDoneFieldEvent {
    field: '$.done'
    value: boolean
  }

  export function encode (obj: Partial<DtnFrame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, DtnFrame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DtnFrame>): DtnFrame {
    return decodeMessage(buf, DtnFrame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DtnFrame>): Generator<DtnFrameOfferKeysIdFieldEvent | DtnFrameOfferKeysOffsetFieldEvent | DtnFrameOfferKeysLengthFieldEvent | DtnFrameOfferReceiptsBodyFieldEvent | DtnFrameOfferReceiptsSignatureFieldEvent | DtnFrameWantKeysIdFieldEvent | DtnFrameWantKeysOffsetFieldEvent | DtnFrameWantKeysLengthFieldEvent | DtnFrameWantReceiptsBodyFieldEvent | DtnFrameWantReceiptsSignatureFieldEvent | DtnFrameBundleHeaderFieldEvent | DtnFrameBundlePayloadFieldEvent | DtnFrameBundleSignatureFieldEvent | DtnFrameBundleTokenFieldEvent | DtnFrameBundleKeyCertificateFieldEvent | DtnFrameBundleHopsFieldEvent | DtnFrameBundleCopiesFieldEvent | DtnFrameBundleEndorsementBridgeFieldEvent | DtnFrameBundleEndorsementSourceOverlayFieldEvent | DtnFrameBundleEndorsementEndorsedAtFieldEvent | DtnFrameBundleEndorsementSignatureFieldEvent | DtnFrameBundleEndorsementTokenFieldEvent | DtnFrameBundleEndorsementKeyCertificateFieldEvent | DtnFrameAckStoredFieldEvent | DtnFrameDoneFieldEvent> {
    return streamMessage(buf, DtnFrame.codec(), opts)
  }
}
