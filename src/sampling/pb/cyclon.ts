import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface CyclonEntry {
  peerId: string
  type: string
  token: string
  keyCertificate: string
  record: Uint8Array<ArrayBuffer>
  mintedAt: bigint
  descriptor: Uint8Array<ArrayBuffer>
  hops: CyclonHop[]
}

export namespace CyclonEntry {
  let _codec: Codec<CyclonEntry>

  export const codec = (): Codec<CyclonEntry> => {
    if (_codec == null) {
      _codec = message<CyclonEntry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(10)
          w.string(obj.peerId)
        }

        if ((obj.type != null && obj.type !== '')) {
          w.uint32(26)
          w.string(obj.type)
        }

        if ((obj.token != null && obj.token !== '')) {
          w.uint32(34)
          w.string(obj.token)
        }

        if ((obj.keyCertificate != null && obj.keyCertificate !== '')) {
          w.uint32(42)
          w.string(obj.keyCertificate)
        }

        if ((obj.record != null && obj.record.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.record)
        }

        if ((obj.mintedAt != null && obj.mintedAt !== 0n)) {
          w.uint32(64)
          w.uint64(obj.mintedAt)
        }

        if ((obj.descriptor != null && obj.descriptor.byteLength > 0)) {
          w.uint32(74)
          w.bytes(obj.descriptor)
        }

        if (obj.hops != null && obj.hops.length > 0) {
          for (const value of obj.hops) {
            w.uint32(82)
            CyclonHop.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          peerId: '',
          type: '',
          token: '',
          keyCertificate: '',
          record: uint8ArrayAlloc(0),
          mintedAt: 0n,
          descriptor: uint8ArrayAlloc(0),
          hops: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.peerId = reader.string()
              break
            }
            case 3: {
              obj.type = reader.string()
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
            case 7: {
              obj.record = reader.bytes()
              break
            }
            case 8: {
              obj.mintedAt = reader.uint64()
              break
            }
            case 9: {
              obj.descriptor = reader.bytes()
              break
            }
            case 10: {
              if (opts.limits?.hops != null && obj.hops.length === opts.limits.hops) {
                throw new MaxLengthError('Decode error - repeated field "hops" had too many elements')
              }

              obj.hops.push(CyclonHop.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.hops$
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
          hops: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.peerId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.type`,
                value: reader.string()
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
            case 7: {
              yield {
                field: `${prefix}.record`,
                value: reader.bytes()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.mintedAt`,
                value: reader.uint64()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.descriptor`,
                value: reader.bytes()
              }
              break
            }
            case 10: {
              if (opts.limits?.hops != null && obj.hops === opts.limits.hops) {
                throw new MaxLengthError('Streaming decode error - repeated field "hops" had too many elements')
              }

              for (const evt of CyclonHop.codec().stream(reader, reader.uint32(), `${prefix}.hops[]`, {
                limits: opts.limits?.hops$
              })) {
                yield {
                  ...evt,
                  index: obj.hops
                }
              }

              obj.hops++

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

  export interface CyclonEntryPeerIdFieldEvent {
    field: '$.peerId'
    value: string
  }

  export interface CyclonEntryTypeFieldEvent {
    field: '$.type'
    value: string
  }

  export interface CyclonEntryTokenFieldEvent {
    field: '$.token'
    value: string
  }

  export interface CyclonEntryKeyCertificateFieldEvent {
    field: '$.keyCertificate'
    value: string
  }

  export interface CyclonEntryRecordFieldEvent {
    field: '$.record'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CyclonEntryMintedAtFieldEvent {
    field: '$.mintedAt'
    value: bigint
  }

  export interface CyclonEntryDescriptorFieldEvent {
    field: '$.descriptor'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CyclonEntryHopsToFieldEvent {
    field: '$.hops[].to'
    value: string
    index: number
  }

  export interface CyclonEntryHopsSignatureFieldEvent {
    field: '$.hops[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<CyclonEntry>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CyclonEntry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CyclonEntry>): CyclonEntry {
    return decodeMessage(buf, CyclonEntry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CyclonEntry>): Generator<CyclonEntryPeerIdFieldEvent | CyclonEntryTypeFieldEvent | CyclonEntryTokenFieldEvent | CyclonEntryKeyCertificateFieldEvent | CyclonEntryRecordFieldEvent | CyclonEntryMintedAtFieldEvent | CyclonEntryDescriptorFieldEvent | CyclonEntryHopsToFieldEvent | CyclonEntryHopsSignatureFieldEvent> {
    return streamMessage(buf, CyclonEntry.codec(), opts)
  }
}

export interface CyclonHop {
  to: string
  signature: Uint8Array<ArrayBuffer>
}

export namespace CyclonHop {
  let _codec: Codec<CyclonHop>

  export const codec = (): Codec<CyclonHop> => {
    if (_codec == null) {
      _codec = message<CyclonHop>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.to != null && obj.to !== '')) {
          w.uint32(10)
          w.string(obj.to)
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
          to: '',
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.to = reader.string()
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
                field: `${prefix}.to`,
                value: reader.string()
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

  export interface CyclonHopToFieldEvent {
    field: '$.to'
    value: string
  }

  export interface CyclonHopSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<CyclonHop>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CyclonHop.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CyclonHop>): CyclonHop {
    return decodeMessage(buf, CyclonHop.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CyclonHop>): Generator<CyclonHopToFieldEvent | CyclonHopSignatureFieldEvent> {
    return streamMessage(buf, CyclonHop.codec(), opts)
  }
}

export interface CyclonShuffle {
  entries: CyclonEntry[]
}

export namespace CyclonShuffle {
  let _codec: Codec<CyclonShuffle>

  export const codec = (): Codec<CyclonShuffle> => {
    if (_codec == null) {
      _codec = message<CyclonShuffle>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.entries != null && obj.entries.length > 0) {
          for (const value of obj.entries) {
            w.uint32(10)
            CyclonEntry.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          entries: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.entries != null && obj.entries.length === opts.limits.entries) {
                throw new MaxLengthError('Decode error - repeated field "entries" had too many elements')
              }

              obj.entries.push(CyclonEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.entries$
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
          entries: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.entries != null && obj.entries === opts.limits.entries) {
                throw new MaxLengthError('Streaming decode error - repeated field "entries" had too many elements')
              }

              for (const evt of CyclonEntry.codec().stream(reader, reader.uint32(), `${prefix}.entries[]`, {
                limits: opts.limits?.entries$
              })) {
                yield {
                  ...evt,
                  index: obj.entries
                }
              }

              obj.entries++

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

  export interface CyclonShuffleEntriesPeerIdFieldEvent {
    field: '$.entries[].peerId'
    value: string
    index: number
  }

  export interface CyclonShuffleEntriesTypeFieldEvent {
    field: '$.entries[].type'
    value: string
    index: number
  }

  export interface CyclonShuffleEntriesTokenFieldEvent {
    field: '$.entries[].token'
    value: string
    index: number
  }

  export interface CyclonShuffleEntriesKeyCertificateFieldEvent {
    field: '$.entries[].keyCertificate'
    value: string
    index: number
  }

  export interface CyclonShuffleEntriesRecordFieldEvent {
    field: '$.entries[].record'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface CyclonShuffleEntriesMintedAtFieldEvent {
    field: '$.entries[].mintedAt'
    value: bigint
    index: number
  }

  export interface CyclonShuffleEntriesDescriptorFieldEvent {
    field: '$.entries[].descriptor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface CyclonShuffleEntriesHopsToFieldEvent {
    field: '$.entries[].hops[].to'
    value: string
    index: number
  }

  export interface CyclonShuffleEntriesHopsSignatureFieldEvent {
    field: '$.entries[].hops[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<CyclonShuffle>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CyclonShuffle.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CyclonShuffle>): CyclonShuffle {
    return decodeMessage(buf, CyclonShuffle.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CyclonShuffle>): Generator<CyclonShuffleEntriesPeerIdFieldEvent | CyclonShuffleEntriesTypeFieldEvent | CyclonShuffleEntriesTokenFieldEvent | CyclonShuffleEntriesKeyCertificateFieldEvent | CyclonShuffleEntriesRecordFieldEvent | CyclonShuffleEntriesMintedAtFieldEvent | CyclonShuffleEntriesDescriptorFieldEvent | CyclonShuffleEntriesHopsToFieldEvent | CyclonShuffleEntriesHopsSignatureFieldEvent> {
    return streamMessage(buf, CyclonShuffle.codec(), opts)
  }
}

export interface SampleFrame {
  ids: string[]
  wants: number[]
  evidence: CyclonEntry[]
}

export namespace SampleFrame {
  let _codec: Codec<SampleFrame>

  export const codec = (): Codec<SampleFrame> => {
    if (_codec == null) {
      _codec = message<SampleFrame>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.ids != null && obj.ids.length > 0) {
          for (const value of obj.ids) {
            w.uint32(10)
            w.string(value)
          }
        }

        if (obj.wants != null && obj.wants.length > 0) {
          for (const value of obj.wants) {
            w.uint32(16)
            w.uint32(value)
          }
        }

        if (obj.evidence != null && obj.evidence.length > 0) {
          for (const value of obj.evidence) {
            w.uint32(26)
            CyclonEntry.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          ids: [],
          wants: [],
          evidence: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.ids != null && obj.ids.length === opts.limits.ids) {
                throw new MaxLengthError('Decode error - repeated field "ids" had too many elements')
              }

              obj.ids.push(reader.string())
              break
            }
            case 2: {
              if (opts.limits?.wants != null && obj.wants.length === opts.limits.wants) {
                throw new MaxLengthError('Decode error - repeated field "wants" had too many elements')
              }

              obj.wants.push(reader.uint32())
              break
            }
            case 3: {
              if (opts.limits?.evidence != null && obj.evidence.length === opts.limits.evidence) {
                throw new MaxLengthError('Decode error - repeated field "evidence" had too many elements')
              }

              obj.evidence.push(CyclonEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.evidence$
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
          ids: 0,
          wants: 0,
          evidence: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.ids != null && obj.ids === opts.limits.ids) {
                throw new MaxLengthError('Streaming decode error - repeated field "ids" had too many elements')
              }

              yield {
                field: `${prefix}.ids[]`,
                index: obj.ids,
                value: reader.string()
              }

              obj.ids++

              break
            }
            case 2: {
              if (opts.limits?.wants != null && obj.wants === opts.limits.wants) {
                throw new MaxLengthError('Streaming decode error - repeated field "wants" had too many elements')
              }

              yield {
                field: `${prefix}.wants[]`,
                index: obj.wants,
                value: reader.uint32()
              }

              obj.wants++

              break
            }
            case 3: {
              if (opts.limits?.evidence != null && obj.evidence === opts.limits.evidence) {
                throw new MaxLengthError('Streaming decode error - repeated field "evidence" had too many elements')
              }

              for (const evt of CyclonEntry.codec().stream(reader, reader.uint32(), `${prefix}.evidence[]`, {
                limits: opts.limits?.evidence$
              })) {
                yield {
                  ...evt,
                  index: obj.evidence
                }
              }

              obj.evidence++

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

  export interface SampleFrameIdsFieldEvent {
    field: '$.ids[]'
    index: number
    value: string
  }

  export interface SampleFrameWantsFieldEvent {
    field: '$.wants[]'
    index: number
    value: number
  }

  export interface SampleFrameEvidencePeerIdFieldEvent {
    field: '$.evidence[].peerId'
    value: string
    index: number
  }

  export interface SampleFrameEvidenceTypeFieldEvent {
    field: '$.evidence[].type'
    value: string
    index: number
  }

  export interface SampleFrameEvidenceTokenFieldEvent {
    field: '$.evidence[].token'
    value: string
    index: number
  }

  export interface SampleFrameEvidenceKeyCertificateFieldEvent {
    field: '$.evidence[].keyCertificate'
    value: string
    index: number
  }

  export interface SampleFrameEvidenceRecordFieldEvent {
    field: '$.evidence[].record'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SampleFrameEvidenceMintedAtFieldEvent {
    field: '$.evidence[].mintedAt'
    value: bigint
    index: number
  }

  export interface SampleFrameEvidenceDescriptorFieldEvent {
    field: '$.evidence[].descriptor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SampleFrameEvidenceHopsToFieldEvent {
    field: '$.evidence[].hops[].to'
    value: string
    index: number
  }

  export interface SampleFrameEvidenceHopsSignatureFieldEvent {
    field: '$.evidence[].hops[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<SampleFrame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SampleFrame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SampleFrame>): SampleFrame {
    return decodeMessage(buf, SampleFrame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SampleFrame>): Generator<SampleFrameIdsFieldEvent | SampleFrameWantsFieldEvent | SampleFrameEvidencePeerIdFieldEvent | SampleFrameEvidenceTypeFieldEvent | SampleFrameEvidenceTokenFieldEvent | SampleFrameEvidenceKeyCertificateFieldEvent | SampleFrameEvidenceRecordFieldEvent | SampleFrameEvidenceMintedAtFieldEvent | SampleFrameEvidenceDescriptorFieldEvent | SampleFrameEvidenceHopsToFieldEvent | SampleFrameEvidenceHopsSignatureFieldEvent> {
    return streamMessage(buf, SampleFrame.codec(), opts)
  }
}
