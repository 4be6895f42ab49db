import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SessionScheduler } from '../../src/dtn/sessions.ts'

/** resolves with the next value `push` is given; rejects after `ms` so a missing call fails rather than hangs */
function nextCall<T> (ms = 5_000): { push: (v: T) => void, next: () => Promise<T> } {
  let waiting: ((v: T) => void) | undefined
  const queue: T[] = []
  return {
    push: v => { if (waiting != null) { const w = waiting; waiting = undefined; w(v) } else { queue.push(v) } },
    next: async () => {
      if (queue.length > 0) return queue.shift() as T
      return await new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`no call within ${ms} ms`)) }, ms)
        waiting = v => { clearTimeout(timer); resolve(v) }
      })
    }
  }
}

describe('DTN session scheduling (pure)', () => {
  it('a call while a session runs asks for one more after it: three calls, two sessions', async () => {
    const calls = nextCall<string>()
    let release: () => void = () => {}
    const s = new SessionScheduler({
      offer: async peer => { calls.push(peer); await new Promise<void>(resolve => { release = resolve }) },
      peers: () => []
    })
    s.start()
    const first = s.sync('p')
    assert.equal(await calls.next(), 'p')
    const more = [s.sync('p'), s.sync('p')]
    release()
    assert.equal(await calls.next(), 'p', 'one more session, after the first')
    release()
    await Promise.all([first, ...more])
    s.stop()
  })

  it('news after a restart is offered, also when news was pending as the scheduler stopped', async () => {
    const calls = nextCall<string>()
    const s = new SessionScheduler({ offer: async peer => { calls.push(peer) }, peers: () => ['p'] })
    s.start()
    s.offerSoon()
    s.stop() // the coalescing delay was running
    s.start()
    s.offerSoon()
    assert.equal(await calls.next(), 'p')
    s.stop()
  })
})
