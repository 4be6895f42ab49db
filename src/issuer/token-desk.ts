/**
 * Tokens and renewals for members: the member's check (`members.ts`), twin
 * watching, the per-peer budget (`beforeIssue`, the HTTP layer's), and the
 * token itself, handed out only once its audit row is committed in a group
 * with every other token decided meanwhile. That group's commit reads the
 * current signing epoch under the writer lock, so a token signed with a key
 * another replica retired meanwhile is never handed out: it is signed again
 * with the new key.
 */
import { createHash, randomUUID } from 'node:crypto'
import { Counter } from 'prom-client'
import { signToken } from '../admission/token.ts'
import { IssuerError } from './errors.ts'
import { GroupCommit } from '../core/group-commit.ts'
import { TwinWatch } from './twins.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { RenewRequest, RenewResult, TokenRequest, TokenResult } from '../issuer-client/wire.ts'
import type { AuditLog } from './audit-log.ts'
import type { IssuerDb } from './db/sql.ts'
import type { Members } from './members.ts'
import type { Rekeys } from './rekeys.ts'
import type { SigningKeys } from './signing-keys.ts'
import type { TwinReport } from './twins.ts'
import type { Registry } from 'prom-client'

/** Attempts to sign a token when a rotation on another replica keeps invalidating the key in hand. */
const TOKEN_SIGN_ATTEMPTS = 3
const INSTANCE_RE = /^[A-Za-z0-9_-]{8,64}$/
/** how an instance id appears in the audit log and logs: enough to tell two apart, useless to impersonate one */
const instanceTag = (instance: string): string => instance === '' ? 'unnamed' : createHash('sha256').update(instance).digest('hex').slice(0, 12)

/** A twin report as audited: instances appear only as short hashes. */
export interface TwinEvent {
  peerId: string
  stage: TwinReport['stage']
  older: string
  newer: string
  olderSeenMsAgo: number
  /** the newer instance is refused (`refuseTwins`) */
  newerRefused: boolean
}

/** A token decided but not yet durable: what its audit row says. */
interface TokenDecision {
  peerId: string
  jti: string
  epoch: number
  exp: number
}

export interface TokenDeskInit {
  db: IssuerDb
  audit: AuditLog
  members: Members
  keys: SigningKeys
  rekeys: Rekeys
  overlay: string
  issuer: string
  tokenTtlMs: number
  refuseTwins: boolean
  onTwin?: (event: TwinEvent) => void
  metrics: Registry
  now: () => number
}

export class TokenDesk {
  private readonly init: TokenDeskInit
  private readonly commits: GroupCommit<TokenDecision, boolean>
  private readonly twins: TwinWatch
  private readonly twinCounter: Counter<'stage'>
  private readonly resignedCounter: Counter

  constructor (init: TokenDeskInit) {
    this.init = init
    this.commits = new GroupCommit({ flush: async decisions => await this.commit(decisions) })
    // one token lifetime: an honest node refreshes at half of it, so its own
    // instance never ages out between two of its requests
    this.twins = new TwinWatch({ windowMs: init.tokenTtlMs, now: init.now })
    this.twinCounter = new Counter({
      name: 'tempus_issuer_twin_suspected_total',
      help: 'credentials refreshed by two client instances within one token lifetime (stage: suspected = a newcomer, maybe a restart; confirmed = both alive)',
      labelNames: ['stage'],
      registers: [init.metrics]
    })
    this.resignedCounter = new Counter({
      name: 'tempus_issuer_token_resigned_total',
      help: 'tokens signed again because another replica activated a new signing key before they were committed (none of them was handed out)',
      registers: [init.metrics]
    })
  }

  async token (req: TokenRequest, beforeIssue?: (peerId: string) => void): Promise<TokenResult> {
    if (req?.instance != null && (typeof req.instance !== 'string' || !INSTANCE_RE.test(req.instance))) {
      throw new IssuerError('bad-request', 'instance must be 8–64 base64url characters')
    }
    const { sub, typ, now, rekeyed } = await this.init.members.verify(req, 'token')
    // a twin refused here must not spend the per-peer budget it shares with the original
    await this.watchTwins(sub, req.instance ?? '')
    beforeIssue?.(sub)
    const token = await this.issue(sub, typ, now)
    if (rekeyed) {
      // the new key is in use: the old one it replaced is revoked now
      await this.init.rekeys.complete(sub)
    }
    return token
  }

  /**
   * A new credential (same subject and type, a new lifetime) for a member
   * whose current credential is still valid: the checks are those of a token
   * request, on a proof made for renewal. A node renews at half its
   * credential's life, so an honest node never depends on this path after
   * its credential expired; an expired one re-enrols with a new code.
   */
  async renew (req: RenewRequest, beforeIssue?: (peerId: string) => void): Promise<RenewResult> {
    const { members, db, audit } = this.init
    const { sub, typ, now } = await members.verify(req, 'renew')
    beforeIssue?.(sub)
    const credential = await members.signCredential(sub, typ, now)
    const expiresAt = members.expiryOf(now)
    await db.transaction(async tx => { await audit.append(tx, 'renew', { peerId: sub, typ, expiresAt }) })
    return { credential, expiresAt }
  }

  /** Sign a token for an enrolled member (the path `token()` takes after its checks). */
  async issue (peerId: string, typ: PeerType, now = this.init.now()): Promise<TokenResult> {
    const { keys, issuer, overlay, tokenTtlMs } = this.init
    for (let attempt = 1; attempt <= TOKEN_SIGN_ATTEMPTS; attempt++) {
      const { key, certificate } = await keys.signer(attempt > 1)
      const nbf = Math.floor(now / 1000)
      const exp = Math.floor((now + tokenTtlMs) / 1000)
      const jti = randomUUID()
      const token = await signToken(key, { iss: issuer, aud: overlay, sub: peerId, typ, iat: nbf, nbf, exp, jti })
      if (await this.commits.submit({ peerId, jti, epoch: key.epoch, exp })) {
        return { token, expiresAt: exp * 1000, keyCertificate: certificate }
      }
      this.resignedCounter.inc()
    }
    throw new IssuerError('unavailable', 'the signing key changed under every attempt; ask again')
  }

  /** One commit for a group of token decisions: those signed with the current epoch are audited (true); the rest are not handed out (false). */
  private async commit (decisions: TokenDecision[]): Promise<boolean[]> {
    const { db, audit } = this.init
    return await db.transaction(async tx => {
      const current = await tx.one<{ epoch: number }>('SELECT epoch FROM signing_keys WHERE state = \'current\'')
      const ok = decisions.map(d => Number(current?.epoch) === d.epoch)
      const fresh = decisions.filter((_, i) => ok[i])
      if (fresh.length > 0) {
        await audit.appendMany(tx, fresh.map(d => ({ kind: 'token', data: { peerId: d.peerId, jti: d.jti, epoch: d.epoch, exp: d.exp } })))
        // the group's checkpoint in its own commit: no second transaction per group
        await audit.checkpointIn(tx)
      }
      return ok
    })
  }

  /**
   * A credential refreshed by two client instances within one token
   * lifetime: audited and counted once per pair and stage, and the newer
   * instance refused when `refuseTwins` is on. Only requests that proved
   * possession of the key get here, so nobody else can raise an alarm for
   * a member. (Each replica watches the requests it serves.)
   */
  private async watchTwins (peerId: string, instance: string): Promise<void> {
    const { refuseTwins, db, audit } = this.init
    const seen = this.twins.observe(peerId, instance)
    const refused = refuseTwins && seen.newer
    if (seen.report != null) {
      const event: TwinEvent = {
        peerId,
        stage: seen.report.stage,
        older: instanceTag(seen.report.older),
        newer: instanceTag(seen.report.newer),
        olderSeenMsAgo: seen.report.olderSeenMsAgo,
        newerRefused: refuseTwins
      }
      await db.transaction(async tx => {
        await audit.append(tx, 'twin-suspected', {
          ...event,
          why: event.stage === 'suspected'
            ? 'a newer client instance refreshes this credential within one token lifetime of the older one: a twin, or a restart after a kill'
            : 'the older instance refreshed again after the newer one appeared: two live processes hold this credential'
        })
      })
      this.twinCounter.inc({ stage: event.stage })
      this.init.onTwin?.(event)
    }
    if (refused) {
      throw new IssuerError('twin', 'another client instance refreshes this credential; stop the other process (or wait one token lifetime after it stopped)')
    }
  }
}
