import { decodeMessage, encodeMessage, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface RpcRequest {
  id: bigint
  method: string
  args: Uint8Array<ArrayBuffer>
  deadlineMs: number
  oneway: boolean
}

export namespace RpcRequest {
  let _codec: Codec<RpcRequest>

  export const codec = (): Codec<RpcRequest> => {
    if (_codec == null) {
      _codec = message<RpcRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== 0n)) {
          w.uint32(8)
          w.uint64(obj.id)
        }

        if ((obj.method != null && obj.method !== '')) {
          w.uint32(18)
          w.string(obj.method)
        }

        if ((obj.args != null && obj.args.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.args)
        }

        if ((obj.deadlineMs != null && obj.deadlineMs !== 0)) {
          w.uint32(32)
          w.uint32(obj.deadlineMs)
        }

        if ((obj.oneway != null && obj.oneway !== false)) {
          w.uint32(40)
          w.bool(obj.oneway)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: 0n,
          method: '',
          args: uint8ArrayAlloc(0),
          deadlineMs: 0,
          oneway: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.uint64()
              break
            }
            case 2: {
              obj.method = reader.string()
              break
            }
            case 3: {
              obj.args = reader.bytes()
              break
            }
            case 4: {
              obj.deadlineMs = reader.uint32()
              break
            }
            case 5: {
              obj.oneway = reader.bool()
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
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.method`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.args`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.deadlineMs`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.oneway`,
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

  export interface RpcRequestIdFieldEvent {
    field: '$.id'
    value: bigint
  }

  export interface RpcRequestMethodFieldEvent {
    field: '$.method'
    value: string
  }

  export interface RpcRequestArgsFieldEvent {
    field: '$.args'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RpcRequestDeadlineMsFieldEvent {
    field: '$.deadlineMs'
    value: number
  }

  export interface RpcRequestOnewayFieldEvent {
    field: '$.oneway'
    value: boolean
  }

  export function encode (obj: Partial<RpcRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RpcRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RpcRequest>): RpcRequest {
    return decodeMessage(buf, RpcRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RpcRequest>): Generator<RpcRequestIdFieldEvent | RpcRequestMethodFieldEvent | RpcRequestArgsFieldEvent | RpcRequestDeadlineMsFieldEvent | RpcRequestOnewayFieldEvent> {
    return streamMessage(buf, RpcRequest.codec(), opts)
  }
}

export interface RpcResponse {
  id: bigint
  ok: boolean
  result: Uint8Array<ArrayBuffer>
  refused: boolean
}

export namespace RpcResponse {
  let _codec: Codec<RpcResponse>

  export const codec = (): Codec<RpcResponse> => {
    if (_codec == null) {
      _codec = message<RpcResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== 0n)) {
          w.uint32(8)
          w.uint64(obj.id)
        }

        if ((obj.ok != null && obj.ok !== false)) {
          w.uint32(16)
          w.bool(obj.ok)
        }

        if ((obj.result != null && obj.result.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.result)
        }

        if ((obj.refused != null && obj.refused !== false)) {
          w.uint32(32)
          w.bool(obj.refused)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: 0n,
          ok: false,
          result: uint8ArrayAlloc(0),
          refused: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.uint64()
              break
            }
            case 2: {
              obj.ok = reader.bool()
              break
            }
            case 3: {
              obj.result = reader.bytes()
              break
            }
            case 4: {
              obj.refused = reader.bool()
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
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.ok`,
                value: reader.bool()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.result`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.refused`,
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

  export interface RpcResponseIdFieldEvent {
    field: '$.id'
    value: bigint
  }

  export interface RpcResponseOkFieldEvent {
    field: '$.ok'
    value: boolean
  }

  export interface RpcResponseResultFieldEvent {
    field: '$.result'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RpcResponseRefusedFieldEvent {
    field: '$.refused'
    value: boolean
  }

  export function encode (obj: Partial<RpcResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RpcResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RpcResponse>): RpcResponse {
    return decodeMessage(buf, RpcResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RpcResponse>): Generator<RpcResponseIdFieldEvent | RpcResponseOkFieldEvent | RpcResponseResultFieldEvent | RpcResponseRefusedFieldEvent> {
    return streamMessage(buf, RpcResponse.codec(), opts)
  }
}
