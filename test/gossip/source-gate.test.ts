/**
 * The per-sender gate in front of the gossip validator (src/gossip/source-gate.ts):
 * a burst of a flooder's frames costs at most `cutoff` + `concurrency` − 1
 * checks however it arrives, and an honest sender's burst is only queued.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SourceGate } from '../../src/gossip/source-gate.ts'

function gate (clock = { t: 0 }): SourceGate {
  return new SourceGate({ concurrency: 4, cutoff: Math.sqrt(80 / 4), decay: 0.95, now: () => clock.t })
}

/** run `frames` frames of `peer` through the gate at once, each check refused or not; resolves the number checked */
async function burst (g: SourceGate, peer: string, frames: number, invalid: boolean): Promise<{ checked: number, dropped: number, maxRunning: number }> {
  let running = 0
  let maxRunning = 0
  let checked = 0
  let dropped = 0
  await Promise.all(Array.from({ length: frames }, async () => {
    if (!await g.enter(peer)) {
      dropped++
      return
    }
    running++
    maxRunning = Math.max(maxRunning, running)
    checked++
    // a check takes a turn of the loop or more
    await new Promise(resolve => setImmediate(resolve))
    running--
    g.leave(peer, invalid)
  }))
  return { checked, dropped, maxRunning }
}

describe('source gate', () => {
  it('a burst of 40 invalid frames costs at most cutoff + concurrency − 1 checks (5 + 3), the rest dropped unchecked', async () => {
    const g = gate()
    const { checked, dropped, maxRunning } = await burst(g, 'flooder', 40, true)
    assert.ok(checked >= 5 && checked <= 8, `checked ${checked}`)
    assert.equal(checked + dropped, 40)
    assert.equal(maxRunning, 4)
    assert.equal(g.dropped, dropped)
    // and its next frame is dropped at once
    assert.equal(await g.enter('flooder'), false)
  })

  it('an honest sender\'s burst is checked in full, four at a time; another sender is not held up by a flooder', async () => {
    const g = gate()
    const [honest, flood] = await Promise.all([burst(g, 'honest', 40, false), burst(g, 'flooder', 40, true)])
    assert.deepEqual({ checked: honest.checked, dropped: honest.dropped }, { checked: 40, dropped: 0 })
    assert.equal(honest.maxRunning, 4)
    assert.ok(flood.checked <= 8)
  })

  it('refusals decay as gossipsub\'s P4 does: a sender refused four times is still checked, and after the count fades a cut-off sender is checked again', async () => {
    const clock = { t: 0 }
    const g = gate(clock)
    await burst(g, 'p', 4, true)
    assert.ok(await g.enter('p'))
    g.leave('p', false)
    await burst(g, 'p', 2, true)
    assert.equal(await g.enter('p'), false)
    // 0.95 a second: from 6 to under 4.47 in about 6 s
    clock.t += 10_000
    assert.ok(g.refusalsOf('p') < Math.sqrt(20))
    assert.equal(await g.enter('p'), true)
    g.leave('p', false)
  })

  it('bounds what waits: beyond maxWaiting a sender\'s frames are dropped, and an idle sender is forgotten', async () => {
    const g = new SourceGate({ concurrency: 1, maxWaiting: 2, cutoff: 5, decay: 0.95, now: () => 0 })
    assert.equal(await g.enter('p'), true)
    const waiting = [g.enter('p'), g.enter('p')]
    assert.equal(await g.enter('p'), false)
    g.leave('p', false)
    g.leave('p', false)
    g.leave('p', false)
    assert.deepEqual(await Promise.all(waiting), [true, true])
    assert.equal(g.refusalsOf('p'), 0)
  })
})
