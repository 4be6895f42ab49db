/**
 * False over-minting from configuration or the clock (review 16, finding 9;
 * protocols/cyclon.md, "One descriptor per spacing"), on real nodes:
 * - the spacing is the overlay's, not the receiver's period: two honest
 *   nodes configured with different legal periods never charge each other;
 * - a period shorter than the spacing is refused at startup, naming the field;
 * - a node restarted with its clock stepped back mints nothing within a
 *   spacing of its last run's last descriptor (kept in its data directory).
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { DESCRIPTOR_SPACING_MS } from '../../src/sampling/constants.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

const MANUAL = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } }, liveness: { maintainInterval: '1h' } }
const OVER_MINTED = /reason="over-minted"\} [1-9]/

async function refused (n: TempusNode): Promise<string> {
  return await n.metricsRegistry.getSingleMetricAsString('tempus_sampling_descriptors_refused_total')
}

async function shufflesStarted (n: TempusNode, view: string): Promise<number> {
  const text = await n.metricsRegistry.getSingleMetricAsString('tempus_sampling_shuffles_total')
  const m = new RegExp(`view="${view}",role="initiator",outcome="ok"\\} (\\d+)`).exec(text) ?? new RegExp(`role="initiator",outcome="ok",view="${view}"\\} (\\d+)`).exec(text)
  return Number(m?.[1] ?? 0)
}

describe('descriptor spacing: the overlay\'s, kept across restarts', () => {
  const spacing = 300
  // a test overlay run faster than production: every node is given the same spacing
  const net = new TestNet({ descriptorSpacingMs: { edge: spacing, bridge: spacing, sentinel: spacing } })
  after(async () => { await net.stop() })

  it('two honest nodes configured with different legal periods never charge each other', async () => {
    // b's period is four times a's: judged by its own period, b charged a as over-minting
    const b = await net.node({ type: 'sentinel', sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1200ms' } } })
    const a = await net.node({ type: 'sentinel', bootstrap: b.getMultiaddrs(), sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '300ms' } } })
    // a two-node view: every shuffle of a's goes to b, with a fresh descriptor of a's each time
    await eventually(async () => await shufflesStarted(a, 'sentinel') >= 8, 'a shuffled with b eight times', 30_000)
    await eventually(async () => await shufflesStarted(b, 'sentinel') >= 2, 'b shuffled with a twice', 30_000)
    for (const [judge, judged] of [[b, a], [a, b]] as const) {
      assert.doesNotMatch(await refused(judge), OVER_MINTED, 'no descriptor refused as over-minted')
      assert.equal(judge.admission.suspicion.score(judged.peerId.toString()), 0, 'and nobody charged')
    }
  })

  it('a period shorter than the overlay\'s descriptor spacing is refused at startup, naming the field', async () => {
    const production = new TestNet({ descriptorSpacingMs: DESCRIPTOR_SPACING_MS })
    try {
      await assert.rejects(
        production.node({ type: 'edge', sampling: { edge: { period: '1s' } } }),
        (err: any) => {
          assert.equal(err.name, 'ConfigError')
          assert.equal(err.field, 'sampling.edge.period')
          assert.match(err.message, new RegExp(`sampling\\.edge\\.period is 1000 ms, shorter than the overlay's descriptor spacing for the edge view \\(${DESCRIPTOR_SPACING_MS.edge} ms\\)`))
          assert.match(err.message, new RegExp(`at least ${DESCRIPTOR_SPACING_MS.edge} ms`))
          return true
        })
      // the default (the spacing itself), and a longer period, start
      await production.node({ type: 'edge' })
      await production.node({ type: 'edge', sampling: { edge: { period: '20s' } } })
    } finally {
      await production.stop()
    }
  })
})

describe('descriptor spacing across a restart', () => {
  const net = new TestNet({ descriptorSpacingMs: DESCRIPTOR_SPACING_MS })
  after(async () => { await net.stop() })

  it('a node restarted with its clock stepped back mints nothing within a spacing of its last run\'s last descriptor', async () => {
    // production's spacing: the node's clock moves only when the test says
    const spacing = DESCRIPTOR_SPACING_MS.edge
    const receiver = await net.node({ type: 'sentinel', ...MANUAL })
    const dataDir = await net.tempDir()
    // the node's clock, moved only by the test
    let at = Date.now()
    const now = (): number => at
    const start = async (): Promise<TempusNode> => await net.node({ type: 'edge', bootstrap: receiver.getMultiaddrs(), ...MANUAL, liveness: {}, options: { dataDir, now, passphrase: 'p' } })
    let node = await start()
    const id = node.peerId.toString()
    const admitted = async (): Promise<void> => {
      await eventually(() => receiver.admission.admitted.has(id) && node.admission.admitted.has(receiver.peerId.toString()), 'the node and the receiver admitted each other')
    }
    await admitted()
    const kept = async (): Promise<number | undefined> => JSON.parse(await readFile(join(dataDir, 'descriptor-mints.json'), 'utf8')).edge

    // first run: one spacing after its start it mints, and introduces itself to the receiver
    at += spacing
    const lastMint = at
    await node.sampling.tick('edge')
    assert.ok(receiver.sampling.view('edge').some(e => e.peerId === id), 'the receiver holds the node\'s first descriptor')
    await node.stop()

    // restarted with the clock stepped back by half a spacing: one spacing
    // after the new start is still within a spacing of the last mint
    at = lastMint - spacing / 2
    node = await start()
    await admitted()
    at += spacing
    await node.sampling.tick('edge')
    assert.doesNotMatch(await refused(receiver), OVER_MINTED, 'nothing over-minted reached the receiver')
    assert.equal(receiver.admission.suspicion.score(id), 0, 'the node is charged nothing')
    assert.equal(await kept(), lastMint, 'no descriptor minted since the last run\'s last (kept in the data directory)')

    // a spacing after its last mint, it mints again
    at = lastMint + spacing
    await node.sampling.tick('edge')
    assert.equal(await kept(), lastMint + spacing, 'it mints once a spacing has passed since its last')
    assert.doesNotMatch(await refused(receiver), OVER_MINTED)
    assert.equal(receiver.admission.suspicion.score(id), 0)
  })
})

describe('the shuffle rate limit: the overlay\'s, not the receiver\'s period', () => {
  const spacing = 100
  const net = new TestNet({ descriptorSpacingMs: { edge: spacing, bridge: spacing, sentinel: spacing } })
  after(async () => { await net.stop() })

  it('a peer shuffling at the fastest legal pace is not rate-limited by a receiver configured slower', async () => {
    // b's period is forty times a's: a limit taken from b's own period (30 a
    // minute) refused and charged a's honest shuffles from the 31st on
    const b = await net.node({ type: 'sentinel', sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '4s' } } })
    const a = await net.node({ type: 'sentinel', bootstrap: b.getMultiaddrs(), sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: `${spacing}ms` } } })
    const started = async (): Promise<number> => {
      const text = await a.metricsRegistry.getSingleMetricAsString('tempus_sampling_shuffles_total')
      return [...text.matchAll(/^tempus_sampling_shuffles_total\{([^}]*)\} (\d+)$/gm)]
        .filter(m => m[1]?.includes('view="sentinel"') === true && m[1].includes('role="initiator"'))
        .reduce((n, m) => n + Number(m[2]), 0)
    }
    await eventually(async () => await started() >= 45, 'a started 45 shuffles with b', 60_000)
    assert.equal(await shufflesStarted(a, 'sentinel'), await started(), 'every one answered')
    assert.equal(b.admission.suspicion.score(a.peerId.toString()), 0, 'a is charged nothing')
  })
})
