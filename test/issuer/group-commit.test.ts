import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { GroupCommit } from '../../src/core/group-commit.ts'

describe('group commit (pure)', () => {
  it('items added in one turn share one flush; items added during a flush share the next', async () => {
    const batches: number[][] = []
    let release: (() => void) | undefined
    const gc = new GroupCommit<number, number>({
      flush: async items => {
        batches.push(items)
        if (batches.length === 1) await new Promise<void>(resolve => { release = resolve })
        return items.map(i => i * 10)
      }
    })
    const first = [1, 2, 3].map(async i => await gc.submit(i))
    // the first flush is in flight once its macrotask ran
    await new Promise(resolve => setImmediate(resolve))
    const second = [4, 5].map(async i => await gc.submit(i))
    release?.()
    assert.deepEqual(await Promise.all([...first, ...second]), [10, 20, 30, 40, 50])
    assert.deepEqual(batches, [[1, 2, 3], [4, 5]])
  })

  it('a failed flush rejects its own items only; the next batch is written', async () => {
    let calls = 0
    const gc = new GroupCommit<string, string>({
      flush: async items => {
        if (calls++ === 0) throw new Error('disk full')
        return items
      }
    })
    const failed = gc.submit('a')
    await assert.rejects(failed, /disk full/)
    assert.equal(await gc.submit('b'), 'b')
  })

  it('a batch holds at most maxBatch items; the rest wait for the next', async () => {
    const sizes: number[] = []
    const gc = new GroupCommit<number, boolean>({ maxBatch: 4, flush: async items => { sizes.push(items.length); return items.map(() => true) } })
    await Promise.all(Array.from({ length: 10 }, async (_, i) => await gc.submit(i)))
    assert.deepEqual(sizes, [4, 4, 2])
  })
})
