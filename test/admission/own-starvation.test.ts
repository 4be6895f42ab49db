/**
 * A deadline missed while this node's own event loop ran late is not the
 * peer's stall (issue #20: in the 100-process chaos run, starved nodes
 * charged honest peers 871 admission timeouts and throttled one). The
 * starvation here is real: the test blocks the event loop, as an
 * overloaded host does to every process on it.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { LoopLagProbe, loopLag, patientTimeout, starvedWithin } from '../../src/core/loop-lag.ts'
import { scriptedPeer } from '../fixtures/attacker.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'
import type { ExchangeScript } from '../fixtures/attacker.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** hold the event loop for `ms`, as a starved host does */
const block = (ms: number): void => {
  const until = performance.now() + ms
  while (performance.now() < until) { /* starving */ }
}

describe('own starvation is not the peer\'s stall', () => {
  it('the probe adds up how late the loop ran while a window was open, and nothing before it', async () => {
    const probe = new LoopLagProbe({ intervalMs: 20 })
    block(100) // before any window: not seen
    const window = probe.watch()
    assert.ok(window.lateMs() < 50, `nothing late yet: ${window.lateMs()}`)
    block(300)
    // the tick is overdue: seen before it has even run
    assert.ok(window.lateMs() >= 250, `overdue tick: ${window.lateMs()}`)
    await new Promise(resolve => setTimeout(resolve, 50))
    const once = window.lateMs()
    assert.ok(once >= 250 && once < 450, `after the late tick ran: ${once}`)
    assert.equal(starvedWithin(window, 1_000), true, 'a quarter of a 1 s deadline')
    assert.equal(starvedWithin(window, 2_000), false, 'less than a quarter of a 2 s deadline')
    // many short delays add up, as on a host where every turn of the loop waits for CPU
    for (let i = 0; i < 6; i++) {
      block(60)
      await new Promise(resolve => setTimeout(resolve, 25))
    }
    assert.ok(window.lateMs() >= once + 150, `short delays add up: ${window.lateMs()} after ${once}`)
    const later = probe.watch()
    assert.ok(later.lateMs() < 50, 'a window opened after the stall does not see it')
    assert.equal(probe.watching, 2)
    window.close()
    later.close()
    window.close()
    assert.equal(probe.watching, 0, 'closed, idempotently: no timer left')
  })

  it('a patient deadline moves on when it falls while this node ran late, a bounded number of times', async () => {
    const aborted = async (signal: AbortSignal): Promise<unknown> => await new Promise(resolve => { signal.addEventListener('abort', () => { resolve(signal.reason) }, { once: true }) })
    // on time: it falls once, as AbortSignal.timeout does
    const onTime = patientTimeout(200, 2, new LoopLagProbe({ intervalMs: 20 }))
    const reason = await aborted(onTime.signal)
    assert.equal((reason as Error).name, 'TimeoutError')
    assert.equal(onTime.extensions(), 0)
    // starved past a quarter of it while it ran: moved on once, then it falls
    const starved = patientTimeout(200, 2, new LoopLagProbe({ intervalMs: 20 }))
    block(300)
    await aborted(starved.signal)
    assert.equal(starved.extensions(), 1)
    // starved at every turn: it still falls, after at most two extensions
    const always = patientTimeout(100, 2, new LoopLagProbe({ intervalMs: 20 }))
    let done = false
    void aborted(always.signal).then(() => { done = true })
    while (!done) {
      block(60)
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    assert.equal(always.extensions(), 2)
    // closed before it falls: never aborts, and leaves no window open
    const probe = new LoopLagProbe({ intervalMs: 20 })
    const closed = patientTimeout(50, 2, probe)
    closed.close()
    assert.equal(probe.watching, 0)
    await new Promise(resolve => setTimeout(resolve, 100))
    assert.equal(closed.signal.aborted, false)
  })

  describe('on a real node: a silent peer at the admission deadline', () => {
    const net = new TestNet()
    const attackers: Libp2p[] = []
    let target: TempusNode
    let addr: Multiaddr
    /** its inbound upgrade's deadline (1 s) falls long before the exchange's own (5 s) */
    let shortUpgrade: TempusNode
    before(async () => {
      target = await net.node({ type: 'sentinel', admission: { deadline: '2s' } })
      addr = multiaddr(target.getMultiaddrs()[0] ?? '')
      shortUpgrade = await net.node({ type: 'sentinel', admission: { deadline: '5s' }, connections: { inboundUpgradeTimeout: '1s' } })
    })
    after(async () => {
      await Promise.all(attackers.map(async n => { await n.stop() }))
      await net.stop()
    })

    // completes Noise, then says nothing until the target hangs up
    const silent: ExchangeScript = async (lp, signal) => { await lp.read({ signal }).catch(() => {}) }

    const stall = async (starve: boolean, node = target, blockMs = 1_200): Promise<{ starved?: boolean, reason: string, score: number }> => {
      const to = node === target ? addr : multiaddr(node.getMultiaddrs()[0] ?? '')
      const key = await generateKeyPair('Ed25519')
      const id = key.publicKey.toString()
      const peer = await scriptedPeer({ privateKey: key, outbound: silent })
      attackers.push(peer.node)
      const refused = waitForEvent(node.admission, 'refused', evt => evt.detail.peer === id)
      const dialing = peer.node.dial(to, { signal: AbortSignal.timeout(10_000) }).catch(() => {})
      if (starve) {
        // the target waits on the exchange (its wait is watched; it is the only wait here): now starve past a quarter of the deadline
        await eventually(() => peer.exchanges() > 0 && loopLag.watching > 0, 'the target to wait on the exchange')
        block(blockMs)
      }
      const { detail } = await refused
      await dialing
      return { starved: detail.starved, reason: detail.reason, score: node.admission.suspicion.score(id) }
    }

    it('charges the stall when this node ran on time', async () => {
      const { reason, starved, score } = await stall(false)
      assert.equal(reason, 'timeout')
      assert.equal(starved, undefined)
      assert.ok(score > 1.9, `charged: ${score}`)
    })

    it('refuses, and charges nothing, when this node\'s own loop ran late', async () => {
      const { reason, starved, score } = await stall(true)
      assert.equal(reason, 'timeout', 'still refused at the deadline')
      assert.equal(starved, true, 'the refusal says why it cost nothing')
      assert.equal(score, 0, 'not charged')
    })

    it('charges nothing when the upgrade\'s deadline fell first while this node ran late', async () => {
      // the upgrade's 1 s is moved on once by the stall and then falls, well before the
      // exchange's 5 s: the loop ran late by more than a quarter of the exchange's deadline
      const { reason, starved, score } = await stall(true, shortUpgrade, 1_400)
      assert.equal(reason, 'timeout')
      assert.equal(starved, true, 'whichever deadline fell, this node\'s lateness made it')
      assert.equal(score, 0, 'not charged')
    })
  })
})
