import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface CyclonEntry {
  peerId: string
  type: string
  token: string
  keyCertificate: string
  age: number
  record: Uint8Array<ArrayBuffer>
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

        if ((obj.age != null && obj.age !== 0)) {
          w.uint32(48)
          w.uint32(obj.age)
        }

        if ((obj.record != null && obj.record.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.record)
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
          age: 0,
          record: uint8ArrayAlloc(0)
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
            case 6: {
              obj.age = reader.uint32()
              break
            }
            case 7: {
              obj.record = reader.bytes()
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
            case 6: {
              yield {
                field: `${prefix}.age`,
                value: reader.uint32()
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

  export interface CyclonEntryAgeFieldEvent {
    field: '$.age'
    value: number
  }

  export interface CyclonEntryRecordFieldEvent {
    field: '$.record'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<CyclonEntry>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CyclonEntry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CyclonEntry>): CyclonEntry {
    return decodeMessage(buf, CyclonEntry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CyclonEntry>): Generator<CyclonEntryPeerIdFieldEvent | CyclonEntryTypeFieldEvent | CyclonEntryTokenFieldEvent | CyclonEntryKeyCertificateFieldEvent | CyclonEntryAgeFieldEvent | CyclonEntryRecordFieldEvent> {
    return streamMessage(buf, CyclonEntry.codec(), opts)
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

  export interface CyclonShuffleEntriesAgeFieldEvent {
    field: '$.entries[].age'
    value: number
    index: number
  }

  export interface CyclonShuffleEntriesRecordFieldEvent {
    field: '$.entries[].record'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<CyclonShuffle>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CyclonShuffle.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CyclonShuffle>): CyclonShuffle {
    return decodeMessage(buf, CyclonShuffle.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CyclonShuffle>): Generator<CyclonShuffleEntriesPeerIdFieldEvent | CyclonShuffleEntriesTypeFieldEvent | CyclonShuffleEntriesTokenFieldEvent | CyclonShuffleEntriesKeyCertificateFieldEvent | CyclonShuffleEntriesAgeFieldEvent | CyclonShuffleEntriesRecordFieldEvent> {
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

  export interface SampleFrameEvidenceAgeFieldEvent {
    field: '$.evidence[].age'
    value: number
    index: number
  }

  export interface SampleFrameEvidenceRecordFieldEvent {
    field: '$.evidence[].record'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<SampleFrame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SampleFrame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SampleFrame>): SampleFrame {
    return decodeMessage(buf, SampleFrame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SampleFrame>): Generator<SampleFrameIdsFieldEvent | SampleFrameWantsFieldEvent | SampleFrameEvidencePeerIdFieldEvent | SampleFrameEvidenceTypeFieldEvent | SampleFrameEvidenceTokenFieldEvent | SampleFrameEvidenceKeyCertificateFieldEvent | SampleFrameEvidenceAgeFieldEvent | SampleFrameEvidenceRecordFieldEvent> {
    return streamMessage(buf, SampleFrame.codec(), opts)
  }
}
