import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SAMPLE_MAX_IDS, SAMPLE_MAX_WANTS } from '../../src/sampling/constants.ts'
import { checkSampleStep, decodeSampleFrame } from '../../src/sampling/sample-frame.ts'
import { SampleFrame } from '../../src/sampling/pb/cyclon.ts'
import type { CyclonEntry } from '../../src/sampling/pb/cyclon.ts'

const entry = (peerId: string): CyclonEntry => ({ peerId, type: 'edge', token: 't', keyCertificate: '', record: new Uint8Array(0), mintedAt: 0n, descriptor: new Uint8Array(0), hops: [] })
const frame = (f: Partial<SampleFrame>): SampleFrame => decodeSampleFrame(SampleFrame.encode({ ids: [], wants: [], evidence: [], ...f }))
const refused = (reason: string): { name: string, reason: string } => ({ name: 'MalformedSampleError', reason })

describe('sample exchange frames (pure)', () => {
  it('each step carries its own fields only', () => {
    assert.deepEqual(checkSampleStep(frame({ ids: ['a', 'b'] }), 1, [], []).ids, ['a', 'b'])
    assert.deepEqual(checkSampleStep(frame({ ids: ['c'], wants: [0, 2] }), 2, ['x', 'y', 'z'], []).wants, [0, 2])
    assert.equal(checkSampleStep(frame({ wants: [0], evidence: [entry('c')] }), 3, ['p'], ['c']).evidence[0]?.id, 'c')
    assert.equal(checkSampleStep(frame({ evidence: [entry('q'), entry('r')] }), 4, [], ['q', 'r']).evidence.length, 2)
    assert.throws(() => checkSampleStep(frame({ ids: ['a'], evidence: [entry('a')] }), 1, [], []), refused('out-of-step'))
    assert.throws(() => checkSampleStep(frame({ ids: ['a'], wants: [0] }), 1, ['x'], []), refused('out-of-step'))
    assert.throws(() => checkSampleStep(frame({ ids: ['a'], evidence: [entry('x')] }), 2, ['x'], []), refused('out-of-step'))
    assert.throws(() => checkSampleStep(frame({ ids: ['a'] }), 3, [], []), refused('out-of-step'))
    assert.throws(() => checkSampleStep(frame({ wants: [0], evidence: [] }), 4, ['x'], []), refused('out-of-step'))
  })

  it('offers: bounded, no id twice, no empty or oversize id', () => {
    assert.throws(() => frame({ ids: Array.from({ length: SAMPLE_MAX_IDS + 1 }, (_, i) => `p${i}`) }), refused('too-many-ids'))
    assert.throws(() => checkSampleStep(frame({ ids: ['a', 'a'] }), 1, [], []), refused('duplicate-id'))
    assert.throws(() => checkSampleStep(frame({ ids: [''] }), 1, [], []), refused('bad-id'))
    assert.throws(() => checkSampleStep(frame({ ids: ['x'.repeat(129)] }), 1, [], []), refused('bad-id'))
    assert.throws(() => decodeSampleFrame(Uint8Array.from([0xff, 0xff, 0xff])), refused('undecodable'))
  })

  it('asks: increasing indices into what was offered, at most the bound', () => {
    assert.throws(() => checkSampleStep(frame({ wants: [1, 0] }), 3, ['a', 'b'], []), refused('bad-wants'))
    assert.throws(() => checkSampleStep(frame({ wants: [0, 0] }), 3, ['a', 'b'], []), refused('bad-wants'))
    assert.throws(() => checkSampleStep(frame({ wants: [2] }), 3, ['a', 'b'], []), refused('bad-wants'))
    assert.throws(() => frame({ wants: Array.from({ length: SAMPLE_MAX_WANTS + 1 }, (_, i) => i) }), refused('too-many-ids'))
  })

  it('evidence: exactly one entry per id asked, in order; an offered id without evidence is refused', () => {
    assert.throws(() => checkSampleStep(frame({ evidence: [] }), 4, [], ['q']), refused('wrong-evidence'))
    assert.throws(() => checkSampleStep(frame({ evidence: [entry('r'), entry('q')] }), 4, [], ['q', 'r']), refused('wrong-evidence'))
    assert.throws(() => checkSampleStep(frame({ evidence: [entry('q'), entry('s')] }), 4, [], ['q', 'r']), refused('wrong-evidence'))
    assert.throws(() => checkSampleStep(frame({ evidence: [{ ...entry('q'), type: 'king' }] }), 4, [], ['q']), refused('wrong-evidence'))
  })
})
