/**
 * The federation handshake's framing, on real libp2p streams
 * (`streamPair`): a side that hears nothing (the deadline, a stream closed
 * or reset) says `no-answer`, which is its own verdict and no refusal by
 * the remote; only bytes that do not decode are `malformed`.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { lpStream, streamPair } from '@libp2p/utils'
import { lengthPrefixed } from '../../src/core/length-prefix.ts'
import { FederationError } from '../../src/federation/errors.ts'
import { Envelope, Reply } from '../../src/federation/pb/federation.ts'
import { answerEnvelope, exchangeEnvelopes } from '../../src/federation/wire.ts'

const ENVELOPE: Envelope = { challenge: new Uint8Array(8), publicKey: new Uint8Array(32), signature: new Uint8Array(64), token: 't', keyCertificate: 'c' }
/** a field of wire type 7, which no protobuf message has */
const UNDECODABLE = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f])

async function reasonOf (work: Promise<unknown>): Promise<string> {
  const err = await work.then(() => undefined, (e: unknown) => e)
  assert.ok(err instanceof FederationError, `a FederationError, not ${String(err)}`)
  return err.reason
}

describe('federation wire: no answer is not a malformed answer', () => {
  it('the initiator whose remote closes without replying says no-answer', async () => {
    const [ours, theirs] = await streamPair()
    const remote = (async () => {
      await lpStream(theirs).read({ signal: AbortSignal.timeout(5_000) })
      await theirs.close()
    })()
    const reason = await reasonOf(exchangeEnvelopes(ours, ENVELOPE, async () => {}, AbortSignal.timeout(5_000)))
    await remote
    assert.equal(reason, 'no-answer')
  })

  it('the initiator whose deadline falls while the remote stays silent says no-answer', async () => {
    const [ours] = await streamPair()
    assert.equal(await reasonOf(exchangeEnvelopes(ours, ENVELOPE, async () => {}, AbortSignal.timeout(200))), 'no-answer')
  })

  it('the initiator whose remote resets the stream says no-answer', async () => {
    const [ours, theirs] = await streamPair()
    const remote = (async () => {
      await lpStream(theirs).read({ signal: AbortSignal.timeout(5_000) })
      theirs.abort(new Error('gone'))
    })()
    const reason = await reasonOf(exchangeEnvelopes(ours, ENVELOPE, async () => {}, AbortSignal.timeout(5_000)))
    await remote
    assert.equal(reason, 'no-answer')
  })

  it('the initiator whose remote replies with bytes that do not decode says malformed', async () => {
    const [ours, theirs] = await streamPair()
    const remote = (async () => {
      const lp = lpStream(theirs)
      await lp.read({ signal: AbortSignal.timeout(5_000) })
      await lp.write(UNDECODABLE)
    })()
    const reason = await reasonOf(exchangeEnvelopes(ours, ENVELOPE, async () => {}, AbortSignal.timeout(5_000)))
    await remote
    assert.equal(reason, 'malformed')
  })

  it('a reply that decodes reaches take', async () => {
    const [ours, theirs] = await streamPair()
    const remote = answerEnvelope(theirs, async () => ENVELOPE)
    let replied: Reply | undefined
    await exchangeEnvelopes(ours, ENVELOPE, async reply => { replied = reply }, AbortSignal.timeout(5_000))
    await remote
    assert.equal(replied?.refused, '')
    assert.equal(replied?.envelope?.token, 't')
  })

  it('the responder whose initiator closes before its envelope says no-answer; garbage is malformed', async () => {
    const [initiator, responder] = await streamPair()
    const answering = reasonOf(answerEnvelope(responder, async () => ENVELOPE))
    await initiator.close()
    assert.equal(await answering, 'no-answer')

    const [initiator2, responder2] = await streamPair()
    const answering2 = reasonOf(answerEnvelope(responder2, async () => ENVELOPE))
    await lpStream(initiator2, lengthPrefixed({ maxDataLength: 1024 })).write(UNDECODABLE)
    assert.equal(await answering2, 'malformed')
  })
})
