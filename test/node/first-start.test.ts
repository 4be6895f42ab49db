/**
 * A data directory's first start (src/node/data-dir.ts, `neverStarted`):
 * the sampler of a node whose key has never run relays descriptors from
 * its start; one whose directory started a node before waits, since that
 * run's hand-overs are forgotten (src/sampling/descriptor-desk.ts).
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { neverStarted, prepareDatastore } from '../../src/node/data-dir.ts'

describe('a data directory\'s first start', () => {
  const dirs: string[] = []
  after(async () => { await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true }))) })

  it('is known until a node has started from it, and not after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tempus-first-start-'))
    dirs.push(dir)
    assert.equal(neverStarted(dir), true)
    await prepareDatastore(dir, Date.now)
    assert.equal(neverStarted(dir), false, 'a directory that started a node has a run behind it')
  })
})
