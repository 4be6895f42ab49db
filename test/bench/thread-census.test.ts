/**
 * The thread census of `bench:idle` (scripts/lib/thread-census.ts): CPU the
 * main thread spends is counted against the main thread, and work handed
 * to libuv's pool against the pool's threads, not against the main one.
 */
import assert from 'node:assert/strict'
import { pbkdf2 } from 'node:crypto'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import { countThreadCpu } from '../../scripts/lib/thread-census.ts'

/** spend at least `ms` of this thread's CPU (counted by the kernel, not by a clock) */
function burn (ms: number): void {
  const start = process.cpuUsage()
  let x = 0
  while (true) {
    for (let i = 0; i < 100_000; i++) x = (x * 31 + i) % 1_000_003
    const used = process.cpuUsage(start)
    if ((used.user + used.system) / 1000 >= ms) break
  }
  assert.ok(x >= 0)
}

describe('thread census (bench:idle)', { skip: process.platform !== 'linux' ? 'reads /proc' : false }, () => {
  it('counts the main thread\'s own work as main, and the pool\'s work as the pool\'s', async () => {
    const census = countThreadCpu()
    burn(200)
    const onMain = census.stop()
    const main = onMain.find(t => t.group === 'main')
    assert.ok(main != null, 'the main thread is listed')
    assert.ok(main.user + main.system >= 0.05, `the main thread's share counted (${JSON.stringify(main)})`)
    assert.equal(onMain[0]?.group, 'main', 'and it is the largest')

    // pbkdf2 runs on libuv's pool: four of them at once keep its threads busy while main waits
    const pool = countThreadCpu()
    await Promise.all(Array.from({ length: 4 }, async () => await promisify(pbkdf2)('secret', 'salt', 400_000, 32, 'sha512')))
    const shares = pool.stop()
    const poolShare = shares.filter(t => t.group !== 'main').reduce((a, t) => a + t.user + t.system, 0)
    const mainShare = shares.filter(t => t.group === 'main').reduce((a, t) => a + t.user + t.system, 0)
    assert.ok(poolShare > mainShare, `the pool's threads carry the pool's work (${JSON.stringify(shares)})`)
  })
})
