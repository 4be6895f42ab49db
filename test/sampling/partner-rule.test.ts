/**
 * The sample exchange's partner rule on real nodes (src/sampling/
 * bootstrap-partners.ts): a new node's first sample exchanges go to its
 * bootstrap peers, then one round in ten; the others to its sampler's
 * least-hit slot.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { SamplerEvents } from '../../src/sampling/sampler.ts'

const FAST = { sampling: { edge: { period: '400ms' }, bridge: { period: '400ms' }, sentinel: { period: '400ms' } } }

type Exchange = SamplerEvents['sample:exchange']['detail']

/** The first `n` edge sample exchanges `node` starts, in order (bounded by `timeoutMs`). */
async function firstExchanges (node: TempusNode, n: number, timeoutMs: number): Promise<Exchange[]> {
  const seen: Exchange[] = []
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      node.sampling.removeEventListener('sample:exchange', listener)
      reject(new Error(`timed out after ${timeoutMs} ms with ${seen.length} of ${n} exchanges: ${JSON.stringify(seen)}`))
    }, timeoutMs)
    const listener = (evt: CustomEvent<Exchange>): void => {
      if (evt.detail.type !== 'edge') return
      seen.push(evt.detail)
      if (seen.length === n) {
        clearTimeout(timer)
        node.sampling.removeEventListener('sample:exchange', listener)
        resolve(seen)
      }
    }
    node.sampling.addEventListener('sample:exchange', listener)
  })
}

describe('the sample exchange\'s partner rule on real nodes', () => {
  const net = new TestNet({ descriptorSpacingMs: { edge: 400, bridge: 400, sentinel: 400 } })
  after(async () => { await net.stop() })

  it('a new node\'s first 10 exchanges go to its bootstrap peers, then one round in 10', async () => {
    const sentinel = await net.node({ type: 'sentinel', ...FAST })
    const bootstrap = sentinel.getMultiaddrs().map(String)
    const edges = await Promise.all(Array.from({ length: 10 }, async () => net.node({ type: 'edge', bootstrap, ...FAST })))
    await eventually(() => edges.every(e => e.sampling.view('edge').length >= 3 && e.sampling.sampled('edge') >= 5), 'the edges\' views and samplers to fill', 60_000, 100)

    const node = await net.node({ type: 'edge', bootstrap, ...FAST })
    const exchanges = await firstExchanges(node, 20, 120_000)
    // its bootstrap peers of the edge view: the first edges its view held
    // (the configured sentinel is of another type: never an edge partner)
    const boot = node.sampling.bootstrapPeers('edge')
    assert.ok(boot.length > 0)
    assert.ok(!boot.includes(sentinel.peerId.toString()))
    const first = exchanges.slice(0, 10)
    assert.ok(first.every(x => x.bootstrap && boot.includes(x.partner)), JSON.stringify({ boot, first }))
    assert.ok(exchanges.every(x => x.partner !== sentinel.peerId.toString()))
    // rounds 11..20: one bootstrap round (at the node's own phase), nine with the least-hit slot
    const rest = exchanges.slice(10)
    assert.equal(rest.filter(x => x.bootstrap).length, 1, JSON.stringify(rest))
    assert.ok(first.filter(x => x.outcome === 'ok').length >= 8, JSON.stringify(first))
    // the view started from one introducer's reply (at most l = 8 of the 10
    // edges), and the sampler learnt beyond those through the exchanges
    assert.ok(node.sampling.sampled('edge') > boot.length, `sampled ${node.sampling.sampled('edge')}, bootstrap peers ${boot.length}`)
  })

  it('a node\'s configured bootstrap peers of a view\'s type are that view\'s bootstrap peers', async () => {
    const s1 = await net.node({ type: 'sentinel', ...FAST })
    const s2 = await net.node({ type: 'sentinel', bootstrap: s1.getMultiaddrs().map(String), ...FAST })
    await eventually(() => s2.sampling.bootstrapPeers('sentinel').includes(s1.peerId.toString()), 's2 to take s1 as a bootstrap peer of the sentinel view', 30_000, 100)
    // s1 was configured with no bootstrap peer: its sentinel view's bootstrap
    // peers are the first it held (s2, which dialled it)
    await eventually(() => s1.sampling.bootstrapPeers('sentinel').includes(s2.peerId.toString()), 's1 to record s2', 30_000, 100)
  })
})
