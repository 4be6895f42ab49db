import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EXPIRED_TOKEN_GRACE_MS, offenceOf } from '../../src/admission/refusal-cost.ts'

describe('what an admission refusal costs (pure)', () => {
  it('honest faults cost nothing: a stale epoch, a skewed clock, an outage-expired token, a cut exchange', () => {
    assert.equal(offenceOf('rotated-key'), null)
    assert.equal(offenceOf('not-yet-valid'), null)
    assert.equal(offenceOf('expired', 5 * 60_000), null)
    assert.equal(offenceOf('expired', EXPIRED_TOKEN_GRACE_MS), null)
    assert.equal(offenceOf('closed'), null)
  })

  it('misbehaviour always costs', () => {
    assert.equal(offenceOf('expired', EXPIRED_TOKEN_GRACE_MS + 1), 'admission-failed')
    assert.equal(offenceOf('expired'), 'admission-failed', 'an expiry of unknown age is not given the benefit of the doubt')
    assert.equal(offenceOf('bad-signature'), 'forged-token')
    assert.equal(offenceOf('wrong-subject'), 'admission-failed')
    assert.equal(offenceOf('revoked'), 'revoked-token')
    assert.equal(offenceOf('bad-proof'), 'bad-proof')
    assert.equal(offenceOf('malformed'), 'malformed-frame')
    assert.equal(offenceOf('timeout'), 'timeout')
  })
})
