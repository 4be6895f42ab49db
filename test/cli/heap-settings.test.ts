import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { YOUNG_GENERATION_FLAG, youngGenerationFlag } from '../../src/cli/heap-settings.ts'

describe('youngGenerationFlag', () => {
  const flag = YOUNG_GENERATION_FLAG

  it('bounds the young generation of tempus start, after global flags too', () => {
    assert.equal(youngGenerationFlag(['start', '--data', '/d'], [], undefined), flag)
    assert.equal(youngGenerationFlag(['--json', 'start', '--data', '/d'], [], ''), flag)
  })

  it('leaves every other command (the issuer, the dev mesh, the short ones) to V8', () => {
    for (const argv of [['issuer', 'start', '--data', '/d'], ['dev'], ['status', '--data', '/d'], ['--version'], []]) {
      assert.equal(youngGenerationFlag(argv, [], undefined), undefined, argv.join(' '))
    }
  })

  it('an operator\'s own semi-space size wins, on the command line or in NODE_OPTIONS', () => {
    assert.equal(youngGenerationFlag(['start'], ['--max-semi-space-size=16'], undefined), undefined)
    assert.equal(youngGenerationFlag(['start'], [], '--inspect --max_semi_space_size=8'), undefined)
    assert.equal(youngGenerationFlag(['start'], ['--semi-space-growth-factor=2'], undefined), undefined)
  })
})
