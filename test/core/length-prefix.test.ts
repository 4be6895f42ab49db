/**
 * Frame lengths read with a bound and without an Error per byte
 * (src/core/length-prefix.ts): the decoder's answers, a flood of
 * never-ending length bytes refused after the longest length the protocol
 * allows (libp2p's own decoder takes it for "not yet" for as long as it
 * comes), frames of every length class carried as before, and every
 * length-prefixed stream of `src/` built through `lengthPrefixed`.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { lpStream, streamPair } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { LENGTH_NOT_YET, LengthPrefixError, lengthPrefixed, varintBytes, varintLengthDecoder } from '../../src/core/length-prefix.ts'

const SRC = new URL('../../../src/', import.meta.url)

async function sourcesUnder (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...await sourcesUnder(p))
    else if (e.name.endsWith('.ts')) out.push(p)
  }
  return out
}

describe('length prefixes', () => {
  it('decodes varints, says "not yet" with one error made once, and refuses a length that does not end', () => {
    const decode = varintLengthDecoder(3)
    assert.equal(decode(Uint8Array.of(0)), 0)
    assert.equal(decode(Uint8Array.of(0x7f)), 127)
    assert.equal(decode(Uint8Array.of(0x80, 0x01)), 128)
    assert.equal(decode(new Uint8ArrayList(Uint8Array.of(0xff), Uint8Array.of(0xff, 0x7f))), 2_097_151)
    // incomplete: the same RangeError each time (no stack per byte), which the reader takes for "not yet"
    const a = (() => { try { decode(Uint8Array.of(0x80)); return undefined } catch (err) { return err } })()
    const b = (() => { try { decode(new Uint8ArrayList(Uint8Array.of(0x80), Uint8Array.of(0x80))); return undefined } catch (err) { return err } })()
    assert.equal(a, LENGTH_NOT_YET)
    assert.equal(b, LENGTH_NOT_YET)
    assert.ok(a instanceof RangeError)
    // three bytes with no end: past what the bound allows, and not a RangeError
    assert.throws(() => decode(Uint8Array.of(0x80, 0x80, 0x80)), (err: unknown) => err instanceof LengthPrefixError && !(err instanceof RangeError))
    assert.equal(varintBytes(127), 1)
    assert.equal(varintBytes(128), 2)
    assert.equal(varintBytes(16_383), 2)
    assert.equal(varintBytes(16_384), 3)
    assert.equal(varintBytes(4 * 1024 * 1024), 4)
  })

  it('a stream of never-ending length bytes is refused after the longest length the protocol allows', async () => {
    const [outbound, inbound] = await streamPair()
    const lp = lpStream(inbound, lengthPrefixed({ maxDataLength: 64 * 1024 }))
    const read = lp.read({ signal: AbortSignal.timeout(10_000) }).then(() => 'read', (err: Error) => err)
    // 50 kB of 0x80: libp2p's own decoder reads them all as "not yet", a new Error each
    for (let i = 0; i < 50; i++) {
      outbound.send(new Uint8Array(1024).fill(0x80))
    }
    const result = await read
    assert.ok(result instanceof LengthPrefixError, `refused by its length, not ${String(result)}`)
    await outbound.close().catch(() => {})
  })

  it('frames of every length class go through as before, and one over maxDataLength is still refused', async () => {
    const max = 70_000
    const [outbound, inbound] = await streamPair()
    const writer = lpStream(outbound)
    const reader = lpStream(inbound, lengthPrefixed({ maxDataLength: max }))
    for (const n of [0, 1, 127, 128, 300, 16_383, 16_384, max]) {
      const bytes = randomBytes(n)
      const [, got] = await Promise.all([writer.write(bytes), reader.read({ signal: AbortSignal.timeout(10_000) })])
      assert.equal(got.byteLength, n)
      assert.ok(Buffer.from(got.subarray()).equals(bytes))
    }
    const over = await Promise.all([writer.write(randomBytes(max + 1)), reader.read({ signal: AbortSignal.timeout(10_000) })]).then(() => undefined, (err: Error) => err)
    assert.equal(over?.name, 'InvalidDataLengthError')
  })

  it('every length-prefixed stream in src/ reads its lengths through lengthPrefixed', async () => {
    const unbounded: string[] = []
    let calls = 0
    for (const file of await sourcesUnder(SRC.pathname)) {
      const text = await readFile(file, 'utf8')
      for (const m of text.matchAll(/\b(?:lp|pb)Stream\(([^\n]*)/g)) {
        if (/^\w+\s*\(/.test(m[0]) && file.endsWith('length-prefix.ts')) continue
        calls++
        if (!(m[1] ?? '').includes('lengthPrefixed(')) unbounded.push(`${file.replace(SRC.pathname, 'src/')}: ${m[0].trim()}`)
      }
    }
    assert.ok(calls >= 20, `found ${calls} length-prefixed streams: the scan has lost them`)
    assert.deepEqual(unbounded, [])
  })
})
