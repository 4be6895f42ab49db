/**
 * Security events at the default level (issue #17, item 5): real nodes log
 * a node of another overlay on both sides (with a reason of its own), RPC
 * refusals, quarantines with their end, one line per peer and reason per
 * window with the count of what was suppressed; every line names the node;
 * `peers()` shows why a score rose and when a quarantine ends; clear-all.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { AdmissionState } from '../../src/admission/state.ts'
import { RevocationState } from '../../src/admission/revocation.ts'
import { SecurityLog } from '../../src/admission/security-log.ts'
import { SuspicionScores } from '../../src/admission/suspicion.ts'
import { DOMAINS } from '../../src/core/domains.ts'
import { generateEd25519, rawPublicKey, signDomain } from '../../src/core/keys.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { TokenVerifier } from '../../src/admission/verifier.ts'

type Line = Record<string, any>

/** A pino destination that keeps each line and wakes whoever waits for one. */
class Captured {
  readonly lines: Line[] = []
  private waiters: Array<{ match: (l: Line) => boolean, resolve: (l: Line) => void }> = []
  readonly logger = createLogger({ level: 'info', destination: { write: (text: string) => { this.add(JSON.parse(text)) } } })

  private add (line: Line): void {
    this.lines.push(line)
    this.waiters = this.waiters.filter(w => {
      if (w.match(line)) {
        w.resolve(line)
        return false
      }
      return true
    })
  }

  /** the first line that matches, now or when it is written */
  async next (match: (l: Line) => boolean, what: string, timeoutMs = 20_000): Promise<Line> {
    const seen = this.lines.find(match)
    if (seen != null) {
      return seen
    }
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`no log line: ${what}`)) }, timeoutMs)
      this.waiters.push({ match, resolve: l => { clearTimeout(timer); resolve(l) } })
    })
  }

  all (match: (l: Line) => boolean): Line[] {
    return this.lines.filter(match)
  }
}

describe('security events in the operator\'s log (issue #17)', () => {
  const alpha = new TestNet({ overlay: 'alpha' })
  const beta = new TestNet({ overlay: 'beta' })
  after(async () => { await Promise.all([alpha.stop(), beta.stop()]) })

  it('a node of another overlay dialling a sentinel: foreign-overlay on the sentinel, refused on the dialler, a flood is one line and a count; every line names its node', async () => {
    const sLog = new Captured()
    const xLog = new Captured()
    const sentinel = await alpha.node({ type: 'sentinel', options: { logger: sLog.logger } })
    const stranger = await beta.node({ type: 'edge', connections: { minConnections: 0 }, options: { logger: xLog.logger } })
    const strangerId = stranger.peerId.toString()
    const sentinelId = sentinel.peerId.toString()

    await assert.rejects(stranger.libp2p.dial(sentinel.libp2p.getMultiaddrs()))
    const there = await sLog.next(l => l.security === 'admission-refused' && l.peer === strangerId, 'the sentinel\'s refusal: ' + JSON.stringify(sLog.lines.map(l => l.msg)) + JSON.stringify(xLog.lines.map(l => l.msg)), 5000)
    assert.equal(there.reason, 'foreign-overlay', 'a reason of its own, not malformed or bad-signature')
    assert.equal(there.overlay, 'beta')
    assert.equal(there.level, 30, 'info: a misconfigured node, not an attack')
    assert.match(there.msg, /another overlay \(beta\)/)
    const here = await xLog.next(l => l.security === 'admission-refused' && l.peer === sentinelId, 'the dialler\'s refusal')
    assert.equal(here.reason, 'refused')
    assert.equal(here.direction, 'outbound')
    assert.match(here.msg, /did not admit this node/)

    // a flood of redials: still one line on the sentinel
    for (let i = 0; i < 10; i++) {
      await assert.rejects(stranger.libp2p.dial(sentinel.libp2p.getMultiaddrs()))
    }
    const refusals = (): Line[] => sLog.all(l => l.security === 'admission-refused' && l.peer === strangerId)
    await eventually(() => sentinel.admission.suspicion.recentOffences(strangerId).length > 0, 'the refusal charged')
    assert.equal(refusals().length, 1, 'one line per peer and reason per window')

    // every line, libp2p's included, says whose log it is
    for (const [log, self] of [[sLog, sentinelId], [xLog, strangerId]] as const) {
      const stray = log.lines.filter(l => l.self !== self)
      assert.deepEqual(stray.map(l => l.msg), [], 'lines without the node\'s PeerId')
    }

    // what the window swallowed is told when it ends (here: at stop)
    await sentinel.stop()
    const summary = await sLog.next(l => l.security === 'admission-refused' && l.peer === strangerId && l.suppressed != null, 'the suppressed count')
    assert.equal(summary.suppressed, 10)
    assert.equal(summary.self, sentinelId)
  })

  it('an RPC refusal and a quarantine are logged with what follows; peers() shows why the score rose and when the quarantine ends; clear-all forgets it', async () => {
    const sLog = new Captured()
    const server = await alpha.node({ type: 'sentinel', options: { logger: sLog.logger } })
    const edge = await alpha.node({ type: 'edge', bootstrap: server.getMultiaddrs(), connections: { minConnections: 0 } })
    const edgeId = edge.peerId.toString()
    await eventually(() => server.admission.admitted.has(edgeId), 'the edge admitted')

    await assert.rejects(edge.rpc.call(server.peerId, 'admin.secret', null, { timeout: 5_000 }))
    const refused = await sLog.next(l => l.security === 'offence' && l.peer === edgeId, 'the RPC refusal')
    assert.equal(refused.reason, 'rpc-denied')
    assert.equal(refused.cause, 'admin.secret')
    assert.equal(refused.level, 40)
    assert.match(refused.msg, /rpc-denied \(admin\.secret\); suspicion 5/)

    const before = (await server.peers()).find(p => p.peerId === edgeId)
    assert.deepEqual(before?.suspicion.offences.map(o => [o.offence, o.cause, o.weight]), [['rpc-denied', 'admin.secret', 5]])
    assert.ok(Date.parse(before?.suspicion.offences[0]?.at ?? '') > 0, 'when')
    assert.equal(before?.suspicion.quarantinedUntil, null)

    // a forged token's worth more: quarantined, and the line says until when
    server.admission.raise(edgeId, 'forged-token')
    const quarantined = await sLog.next(l => l.security === 'quarantined' && l.peer === edgeId, 'the quarantine')
    assert.equal(quarantined.level, 40)
    assert.ok(Date.parse(quarantined.until) > Date.now(), 'until a time to come')
    assert.match(quarantined.msg, new RegExp(`quarantined until ${quarantined.until}`))
    assert.deepEqual(quarantined.offences, ['rpc-denied (admin.secret)', 'forged-token'])
    const during = (await server.peers()).find(p => p.peerId === edgeId)
    assert.equal(during?.suspicion.state, 'quarantined')
    assert.equal(during?.suspicion.quarantinedUntil, quarantined.until)
    assert.deepEqual(during?.suspicion.offences.map(o => o.offence), ['rpc-denied', 'forged-token'])

    const { cleared } = await server.clearAllPeers()
    assert.ok(cleared.includes(edgeId))
    const after = (await server.peers()).find(p => p.peerId === edgeId)
    assert.deepEqual(after?.suspicion, { score: 0, state: 'ok', quarantinedUntil: null, offences: [] })
  })

  it('a revocation applied is one warn line naming the peer and what follows', async () => {
    const sLog = new Captured()
    await alpha.node({ type: 'sentinel', options: { logger: sLog.logger } })
    const victim = await alpha.node({ type: 'edge', connections: { minConnections: 0 } })
    const victimId = victim.peerId.toString()
    const t = await alpha.issuer()
    const admins = [generateEd25519(), generateEd25519()]
    const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
    for (const [i, admin] of admins.entries()) { await t.issuer.addAdmin(b64(rawPublicKey(admin.publicKey)), `security-admin-${i}`) }
    const request = await t.issuer.requestRevocation(victimId, 'lost device')
    for (const admin of admins) {
      await t.issuer.approve(request.id, b64(rawPublicKey(admin.publicKey)), b64(signDomain(admin.privateKey, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))))
    }
    // the sentinel polls the issuer's list (every 5 s by default)
    const revoked = await sLog.next(l => l.security === 'revoked' && l.peer === victimId, 'the revocation applied', 30_000)
    assert.equal(revoked.level, 40)
    assert.match(revoked.msg, /revoked by the issuer's revocation list: its connections are closed and it is refused/)
    const list = await sLog.next(l => l.security === 'revocation-list', 'the list applied')
    assert.equal(list.level, 30)
  })
})

describe('the security log\'s rate limit (issue #17)', () => {
  it('a flood from one peer is one line per window and then its count; a flood from many peers is bounded', () => {
    let now = 1_000_000
    const lines: Line[] = []
    const log = createLogger({ level: 'info', destination: { write: (t: string) => { lines.push(JSON.parse(t)) } } })
    const state = new AdmissionState({ verifier: {} as unknown as TokenVerifier, revocations: new RevocationState(), suspicion: new SuspicionScores({}, () => now), now: () => now, deadlineMs: 1_000 })
    const security = new SecurityLog({ log, state, windowMs: 60_000, maxKeys: 16, now: () => now })
    security.start()
    for (let i = 0; i < 500; i++) {
      state.recordRefused('peer-a', 'malformed', 'inbound')
      now += 10
    }
    assert.equal(lines.filter(l => l.peer === 'peer-a' && l.security === 'admission-refused').length, 1)
    security.flush()
    assert.equal(lines.filter(l => l.suppressed != null).length, 0, 'nothing told before its window ends')
    now += 60_000
    security.flush()
    const summary = lines.find(l => l.peer === 'peer-a' && l.security === 'admission-refused' && l.suppressed != null)
    assert.equal(summary?.suppressed, 499, JSON.stringify(lines.map(l => [l.security, l.reason, l.suppressed])))
    assert.equal(summary?.reason, 'malformed')

    // 1,000 peers at once: at most maxKeys lines and one count for the rest
    const before = lines.length
    for (let i = 0; i < 1_000; i++) {
      state.recordRefused(`peer-${i}`, 'expired', 'inbound', { expiredForMs: 1_000 })
    }
    security.flush(now + 60_000)
    const added = lines.slice(before)
    assert.ok(added.length <= 16 + 1, `${added.length} lines`)
    assert.equal(added.at(-1)?.security, 'flood')
    assert.equal(added.at(-1)?.suppressed, 1_000 - 16)
    security.stop()
  })
})
