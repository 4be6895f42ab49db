import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { OLD_GENERATION_FLAG, YOUNG_GENERATION_FLAG, heapFlags } from '../../src/cli/heap-settings.ts'

describe('heapFlags', () => {
  const both = [YOUNG_GENERATION_FLAG, OLD_GENERATION_FLAG]

  it('bounds the young generation of tempus start, both generations of the dev mesh, after global flags too', () => {
    assert.deepEqual(heapFlags(['start', '--data', '/d'], [], undefined), [YOUNG_GENERATION_FLAG])
    assert.deepEqual(heapFlags(['--json', 'start', '--data', '/d'], [], ''), [YOUNG_GENERATION_FLAG])
    assert.deepEqual(heapFlags(['dev'], [], undefined), both)
    assert.deepEqual(heapFlags(['--json', 'dev', '--edges', '10'], [], undefined), both)
  })

  it('leaves every other command (the issuer, the short ones) to V8', () => {
    for (const argv of [['issuer', 'start', '--data', '/d'], ['status', '--data', '/d'], ['--version'], []]) {
      assert.deepEqual(heapFlags(argv, [], undefined), [], argv.join(' '))
    }
  })

  it('an operator\'s own setting wins, generation by generation, on the command line or in NODE_OPTIONS', () => {
    assert.deepEqual(heapFlags(['start'], ['--max-semi-space-size=16'], undefined), [])
    assert.deepEqual(heapFlags(['start'], [], '--inspect --max_semi_space_size=8'), [])
    assert.deepEqual(heapFlags(['dev'], ['--semi-space-growth-factor=2'], undefined), [OLD_GENERATION_FLAG])
    assert.deepEqual(heapFlags(['dev'], ['--heap-growing-percent=50'], undefined), [YOUNG_GENERATION_FLAG])
    assert.deepEqual(heapFlags(['dev'], [], '--optimize_for_size'), [YOUNG_GENERATION_FLAG])
  })
})
