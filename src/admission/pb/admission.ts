import { decodeMessage, encodeMessage, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface AdmitHello {
  version: string
  token: string
  nonce: Uint8Array<ArrayBuffer>
  keyCertificate: string
  retry: boolean
  signature: Uint8Array<ArrayBuffer>
  ticket: Uint8Array<ArrayBuffer>
  grant: Uint8Array<ArrayBuffer>
  grantSecret: Uint8Array<ArrayBuffer>
}

export namespace AdmitHello {
  let _codec: Codec<AdmitHello>

  export const codec = (): Codec<AdmitHello> => {
    if (_codec == null) {
      _codec = message<AdmitHello>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== '')) {
          w.uint32(10)
          w.string(obj.version)
        }

        if ((obj.token != null && obj.token !== '')) {
          w.uint32(18)
          w.string(obj.token)
        }

        if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.nonce)
        }

        if ((obj.keyCertificate != null && obj.keyCertificate !== '')) {
          w.uint32(34)
          w.string(obj.keyCertificate)
        }

        if ((obj.retry != null && obj.retry !== false)) {
          w.uint32(40)
          w.bool(obj.retry)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.signature)
        }

        if ((obj.ticket != null && obj.ticket.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.ticket)
        }

        if ((obj.grant != null && obj.grant.byteLength > 0)) {
          w.uint32(66)
          w.bytes(obj.grant)
        }

        if ((obj.grantSecret != null && obj.grantSecret.byteLength > 0)) {
          w.uint32(74)
          w.bytes(obj.grantSecret)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: '',
          token: '',
          nonce: uint8ArrayAlloc(0),
          keyCertificate: '',
          retry: false,
          signature: uint8ArrayAlloc(0),
          ticket: uint8ArrayAlloc(0),
          grant: uint8ArrayAlloc(0),
          grantSecret: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.string()
              break
            }
            case 2: {
              obj.token = reader.string()
              break
            }
            case 3: {
              obj.nonce = reader.bytes()
              break
            }
            case 4: {
              obj.keyCertificate = reader.string()
              break
            }
            case 5: {
              obj.retry = reader.bool()
              break
            }
            case 6: {
              obj.signature = reader.bytes()
              break
            }
            case 7: {
              obj.ticket = reader.bytes()
              break
            }
            case 8: {
              obj.grant = reader.bytes()
              break
            }
            case 9: {
              obj.grantSecret = reader.bytes()
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
                field: `${prefix}.version`,
                value: reader.string()
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
                field: `${prefix}.nonce`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.keyCertificate`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.retry`,
                value: reader.bool()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.ticket`,
                value: reader.bytes()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.grant`,
                value: reader.bytes()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.grantSecret`,
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

  export interface AdmitHelloVersionFieldEvent {
    field: '$.version'
    value: string
  }

  export interface AdmitHelloTokenFieldEvent {
    field: '$.token'
    value: string
  }

  export interface AdmitHelloNonceFieldEvent {
    field: '$.nonce'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AdmitHelloKeyCertificateFieldEvent {
    field: '$.keyCertificate'
    value: string
  }

  export interface AdmitHelloRetryFieldEvent {
    field: '$.retry'
    value: boolean
  }

  export interface AdmitHelloSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AdmitHelloTicketFieldEvent {
    field: '$.ticket'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AdmitHelloGrantFieldEvent {
    field: '$.grant'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AdmitHelloGrantSecretFieldEvent {
    field: '$.grantSecret'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<AdmitHello>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, AdmitHello.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AdmitHello>): AdmitHello {
    return decodeMessage(buf, AdmitHello.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AdmitHello>): Generator<AdmitHelloVersionFieldEvent | AdmitHelloTokenFieldEvent | AdmitHelloNonceFieldEvent | AdmitHelloKeyCertificateFieldEvent | AdmitHelloRetryFieldEvent | AdmitHelloSignatureFieldEvent | AdmitHelloTicketFieldEvent | AdmitHelloGrantFieldEvent | AdmitHelloGrantSecretFieldEvent> {
    return streamMessage(buf, AdmitHello.codec(), opts)
  }
}

export interface AdmitProof {
  signature: Uint8Array<ArrayBuffer>
  retry: boolean
  keyCertificate: string
  grant: Uint8Array<ArrayBuffer>
  resumed: boolean
  declined: boolean
  grantSecret: Uint8Array<ArrayBuffer>
}

export namespace AdmitProof {
  let _codec: Codec<AdmitProof>

  export const codec = (): Codec<AdmitProof> => {
    if (_codec == null) {
      _codec = message<AdmitProof>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.signature)
        }

        if ((obj.retry != null && obj.retry !== false)) {
          w.uint32(16)
          w.bool(obj.retry)
        }

        if ((obj.keyCertificate != null && obj.keyCertificate !== '')) {
          w.uint32(26)
          w.string(obj.keyCertificate)
        }

        if ((obj.grant != null && obj.grant.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.grant)
        }

        if ((obj.resumed != null && obj.resumed !== false)) {
          w.uint32(40)
          w.bool(obj.resumed)
        }

        if ((obj.declined != null && obj.declined !== false)) {
          w.uint32(48)
          w.bool(obj.declined)
        }

        if ((obj.grantSecret != null && obj.grantSecret.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.grantSecret)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          signature: uint8ArrayAlloc(0),
          retry: false,
          keyCertificate: '',
          grant: uint8ArrayAlloc(0),
          resumed: false,
          declined: false,
          grantSecret: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.signature = reader.bytes()
              break
            }
            case 2: {
              obj.retry = reader.bool()
              break
            }
            case 3: {
              obj.keyCertificate = reader.string()
              break
            }
            case 4: {
              obj.grant = reader.bytes()
              break
            }
            case 5: {
              obj.resumed = reader.bool()
              break
            }
            case 6: {
              obj.declined = reader.bool()
              break
            }
            case 7: {
              obj.grantSecret = reader.bytes()
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
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.retry`,
                value: reader.bool()
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
                field: `${prefix}.grant`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.resumed`,
                value: reader.bool()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.declined`,
                value: reader.bool()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.grantSecret`,
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

  export interface AdmitProofSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AdmitProofRetryFieldEvent {
    field: '$.retry'
    value: boolean
  }

  export interface AdmitProofKeyCertificateFieldEvent {
    field: '$.keyCertificate'
    value: string
  }

  export interface AdmitProofGrantFieldEvent {
    field: '$.grant'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AdmitProofResumedFieldEvent {
    field: '$.resumed'
    value: boolean
  }

  export interface AdmitProofDeclinedFieldEvent {
    field: '$.declined'
    value: boolean
  }

  export interface AdmitProofGrantSecretFieldEvent {
    field: '$.grantSecret'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<AdmitProof>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, AdmitProof.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AdmitProof>): AdmitProof {
    return decodeMessage(buf, AdmitProof.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AdmitProof>): Generator<AdmitProofSignatureFieldEvent | AdmitProofRetryFieldEvent | AdmitProofKeyCertificateFieldEvent | AdmitProofGrantFieldEvent | AdmitProofResumedFieldEvent | AdmitProofDeclinedFieldEvent | AdmitProofGrantSecretFieldEvent> {
    return streamMessage(buf, AdmitProof.codec(), opts)
  }
}

export interface TokenRefresh {
  token: string
  keyCertificate: string
}

export namespace TokenRefresh {
  let _codec: Codec<TokenRefresh>

  export const codec = (): Codec<TokenRefresh> => {
    if (_codec == null) {
      _codec = message<TokenRefresh>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.token != null && obj.token !== '')) {
          w.uint32(10)
          w.string(obj.token)
        }

        if ((obj.keyCertificate != null && obj.keyCertificate !== '')) {
          w.uint32(18)
          w.string(obj.keyCertificate)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          token: '',
          keyCertificate: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.token = reader.string()
              break
            }
            case 2: {
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
                field: `${prefix}.token`,
                value: reader.string()
              }
              break
            }
            case 2: {
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

  export interface TokenRefreshTokenFieldEvent {
    field: '$.token'
    value: string
  }

  export interface TokenRefreshKeyCertificateFieldEvent {
    field: '$.keyCertificate'
    value: string
  }

  export function encode (obj: Partial<TokenRefresh>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TokenRefresh.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TokenRefresh>): TokenRefresh {
    return decodeMessage(buf, TokenRefresh.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TokenRefresh>): Generator<TokenRefreshTokenFieldEvent | TokenRefreshKeyCertificateFieldEvent> {
    return streamMessage(buf, TokenRefresh.codec(), opts)
  }
}
