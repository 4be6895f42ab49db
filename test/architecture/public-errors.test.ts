/**
 * Every error a caller of the package can catch is exported from its root
 * (src/index.ts), so `instanceof` works without reaching into internals.
 * An error class that never leaves its folder is listed below with the
 * reason it stays inside.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import * as root from '../../src/index.ts'

/** the sources, not the build: this file runs from dist/test/architecture */
const SRC = fileURLToPath(new URL('../../../src/', import.meta.url))

/** error classes no caller of the package sees, and why */
const INTERNAL: Record<string, string> = {
  SealError: 'identity/: the key store turns it into an IdentityError',
  EncodingError: 'rpc/: a caller sees RpcError(bad-arguments); the server logs the rest',
  DialBudgetError: 'liveness/: a deferred dial, retried by the keeper and the sampler',
  HttpError: 'http/: the HTTP servers answer with a status',
  IssuerError: 'issuer/: the issuer is a separate service, not part of the node package API',
  AuditLogDamagedError: 'issuer/: as above',
  StoreUrlError: 'issuer/: as above',
  CborError: 'issuer/apple/: the App Attest evidence parser turns it into a refusal (malformed-evidence)',
  TpmDecodeError: 'issuer/tpm/: the TPM verifier turns it into a refusal (tpm-malformed)',
  TpmToolError: 'cli/: tpm2-tools failing under tempus enroll --attest tpm',
  IssuerClientError: 'issuer-client/: the token manager retries; enrolment is the CLI\'s',
  IssuerUrlError: 'issuer-client/: as above',
  RekeyError: 'admission/: re-keying is the CLI\'s command',
  UndecodableFrameError: 'admission/: a read marks a frame that does not decode; the service charges its peer and aborts the stream',
  LengthPrefixError: 'core/: a read of a frame length that does not end; the service charges its peer as a framing fault (cut-read.ts)',
  NegotiationError: 'admission/: an inbound connection or stream cut during its protocol negotiation; libp2p counts the failed upgrade or reset stream',
  FramingError: 'admission/: a stream of identify or the DHT cut for a length prefix past its bound; libp2p\'s reader ends with it, the muxer wrapper charges the peer',
  UsageError: 'cli/',
  ApiError: 'cli/'
}

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? (e.name === 'pb' ? [] : sources(join(dir, e.name))) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

describe('architecture: the errors a caller can catch', () => {
  it('are exported from the package root, each with its class name as its stable `name`', () => {
    const declared = new Map<string, string>()
    for (const file of sources(SRC)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/^export class (\w+Error)\b/gm)) {
        declared.set(m[1] as string, relative(SRC, file))
      }
    }
    assert.ok(declared.size > 10, `found ${declared.size} error classes`)
    const exported = root as Record<string, unknown>
    const missing = [...declared].filter(([name]) => INTERNAL[name] == null && typeof exported[name] !== 'function').map(([name, file]) => `${name} (${file})`)
    assert.deepEqual(missing, [], 'error classes neither exported from src/index.ts nor listed as internal')
    for (const [name] of declared) {
      const Class = exported[name]
      if (typeof Class === 'function') {
        const err = Reflect.construct(Class, ['unavailable', 'x', 'y']) as Error
        assert.ok(err instanceof Error)
        assert.equal(err.name, name)
      }
    }
    assert.deepEqual(Object.keys(INTERNAL).filter(name => !declared.has(name)), [], 'listed as internal but no longer declared')
  })
})
