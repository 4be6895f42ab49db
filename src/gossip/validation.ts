/**
 * Validation of a gossip frame, live or caught up: every check, in order of
 * cost — size and shape, the origin's signature, the topic's body, the
 * origin's evidence of admission at publication, freshness — and what
 * gossipsub is told about a frame that fails, with who pays for it.
 *
 * No libp2p here but gossipsub's verdict names; the admission state and the
 * store are handed in.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { AdmissionError } from '../admission/errors.ts'
import { verifyKeyCertificate } from '../admission/key-certificate.ts'
import { lapsedInOutage } from '../admission/refusal-cost.ts'
import { verifyRevocationList } from '../admission/revocation.ts'
import { tokenKid } from '../admission/token.ts'
import { decodeAnomalyBody } from './anomaly.ts'
import { bindAnomaly } from './anomaly-id.ts'
import { ANOMALY_TOPIC, CRL_TOPIC, GOSSIP_SKEW_MS } from './constants.ts'
import { GossipError, IGNORED } from './errors.ts'
import { decodeFrame, verifyFrame } from './frame.ts'
import type { Anomaly } from './anomaly.ts'
import type { BoundAnomaly } from './anomaly-id.ts'
import type { GossipTopic } from './constants.ts'
import type { GossipRefusal } from './errors.ts'
import type { Frame } from './frame.ts'
import type { AnomalyStore } from './store.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { TokenClaims } from '../admission/token.ts'

/** What a frame that passed every check holds for its topic. */
export interface Checked {
  frame: Frame
  /** on the anomaly topic: the anomaly, bound to its id */
  anomaly?: BoundAnomaly
  /** on the revocation list topic: the list (a JWS) */
  crl?: string
}

export interface GossipValidatorInit {
  state: AdmissionState
  store: Pick<AnomalyStore, 'holds'>
  now: () => number
  /** a key certificate of this epoch verified on the keys topic (stale or not): nobody else need announce it */
  sawKeyEpoch: (epoch: number) => void
}

const decoder = new TextDecoder()

export class GossipValidator {
  private readonly init: GossipValidatorInit

  constructor (init: GossipValidatorInit) {
    this.init = init
  }

  /**
   * Every check, in order of cost: size and shape, the origin's signature
   * (the one signature a frame carries: gossipsub signs nothing on these
   * topics), the topic's body, the origin's evidence of admission at
   * publication, freshness. `live`: it came over gossipsub, so an anomaly
   * must be recent; caught up (not live), old anomalies are welcome.
   * `decoded` sees an anomaly as soon as its body decodes.
   */
  async check (topic: GossipTopic, data: Uint8Array, live: boolean, decoded?: (a: Anomaly) => void): Promise<Checked> {
    const { state } = this.init
    const frame = decodeFrame(topic, data)
    const now = this.init.now()
    let at = now
    let anomaly: BoundAnomaly | undefined
    if (topic === ANOMALY_TOPIC) {
      const a = decodeAnomalyBody(frame.body, frame.origin)
      decoded?.(a)
      // the id must be its origin's and content's (cheap: one hash, before the token's check)
      anomaly = bindAnomaly(a, state.verifier.overlay)
      // this very content (origin and all) is held, its signature checked when it came: a
      // second copy costs no signature check (a periodic catch-up pages through what is held)
      if (this.init.store.holds(anomaly.id, anomaly.binding) === 'same') {
        throw new GossipError('duplicate')
      }
      // Live, an anomaly's time must be near the receiver's clock. One too
      // old for that, or expired, may have been neither where it came from:
      // the relay took it in time, and a loaded relay or receiver, a slow
      // path or gossipsub's IHAVE/IWANT can take longer than the skew to
      // bring it on. Nobody is charged (`late`, Ignore) and catch-up, which
      // takes old anomalies, brings it; so it is dropped before the costly
      // checks. (A re-published anomaly keeps its origin's time, which may
      // be older.)
      if (live && anomaly.provenance == null && now - anomaly.timestamp > GOSSIP_SKEW_MS) {
        throw new GossipError('late', `published ${now - anomaly.timestamp} ms ago: too old to take live`)
      }
      if (anomaly.expires <= now) {
        throw new GossipError(live ? 'late' : 'stale')
      }
    }
    verifyFrame(topic, frame)
    if (anomaly != null) {
      // only its origin dates an anomaly (the signature just checked): one
      // dated ahead of every honest clock is the origin's to answer for
      if (live && anomaly.provenance == null && anomaly.timestamp - now > GOSSIP_SKEW_MS) {
        throw new GossipError('skew', `dated ${anomaly.timestamp - now} ms ahead of this node's clock`, signerOf(anomaly))
      }
      at = anomaly.timestamp
    }
    const epochBefore = state.verifier.current?.epoch ?? -1
    // an anomaly is evidence of its moment: its origin's token need only have
    // been valid when it was published, even if its epoch has been rotated
    // away since, as long as the token was issued before this node first knew
    // a newer epoch. The issuer stops signing with a key before any node hears
    // of its successor, so every honest token of the old epoch was; a token of
    // it dated later was minted by someone holding a retired key. Such a token
    // lives at most TOKEN_TTL_MAX_MS, so a retired key, leaked or not, can date
    // nothing later than that past the rotation. The rule is the same live and
    // caught up. Judging the anomaly's own time instead, and taking only the
    // current epoch live (as this did first), lost what a node published
    // under its still-valid token in the seconds before it heard of a
    // rotation, or cut off from the issuer while it happened: live, every node
    // that had heard ignored it, and only catch-up, one random peer every
    // 30 s, carried it on. The chaos harness (issue #20) found both.
    const claims = await this.checkEvidence(frame, at, anomaly != null)
    const superseded = state.verifier.supersededAt(claims.ep)
    if (superseded != null && claims.nbf * 1000 > superseded + GOSSIP_SKEW_MS) {
      throw new GossipError('stale', 'a token of a rotated key issued after its successor was current')
    }
    if (anomaly != null) {
      // only a bridge re-publishes another overlay's anomaly (anomaly-relay.ts);
      // anyone else holding such a frame would take the slot its bridges fill
      if (anomaly.provenance != null && claims.typ !== 'bridge') {
        throw new GossipError('bad-body', 'a relayed anomaly from a node that is not a bridge')
      }
      // asked again: another copy may have been stored while the evidence was checked
      const held = this.init.store.holds(anomaly.id, anomaly.binding)
      if (held === 'same') {
        throw new GossipError('duplicate')
      }
      if (held === 'conflict') {
        throw new GossipError('equivocation', 'another anomaly is held under this id', signerOf(anomaly))
      }
      return { frame, anomaly }
    }
    if (topic === CRL_TOPIC) {
      const jws = decoder.decode(frame.body)
      let list
      try {
        list = await verifyRevocationList(jws, state.verifier.rootKey, state.verifier.overlay, state.now())
      } catch (err) {
        // signed under a revocation key whose certificate has run out since (or, skewed, is
        // not valid yet here): an honest relay of an old list, ignored, never charged
        if (err instanceof AdmissionError && err.code === 'expired') {
          throw new GossipError('stale', 'a revocation list under a revocation-key certificate outside its validity')
        }
        throw new GossipError('bad-body', 'the revocation list does not verify')
      }
      // older, or signed under a retired revocation key: nothing to pass on
      if (!state.revocations.accepts(list)) {
        throw new GossipError('stale')
      }
      return { frame, crl: jws }
    }
    // KEYS_TOPIC: a key certificate for the key that signed the frame's token
    let epoch: number
    try {
      const cert = await verifyKeyCertificate(decoder.decode(frame.body), state.verifier.rootKey, state.verifier.overlay)
      if (cert.kid !== tokenKid(frame.token)) {
        throw new Error('another key')
      }
      epoch = cert.epoch
    } catch {
      throw new GossipError('bad-body', 'the key certificate does not verify for the token\'s key')
    }
    this.init.sawKeyEpoch(epoch)
    if (epoch <= epochBefore) {
      throw new GossipError('stale')
    }
    return { frame }
  }

  /** The origin's token was valid at `at`, for the origin, and the origin is not revoked. */
  private async checkEvidence (frame: Frame, at: number, acceptRotated: boolean): Promise<TokenClaims> {
    if (frame.token === '') {
      throw new GossipError('no-admission')
    }
    try {
      return await this.init.state.verifier.verify(frame.token, { sub: frame.origin, keyCertificate: frame.keyCertificate === '' ? undefined : frame.keyCertificate, at, acceptRotated })
    } catch (err) {
      if (err instanceof AdmissionError && err.reason === 'revoked') {
        throw new GossipError('revoked-origin', undefined, undefined, frame.origin)
      }
      if (err instanceof AdmissionError && err.reason === 'rotated-key') {
        // published before a key rotation: an honest relay may still hold it
        throw new GossipError('stale', 'evidence of a rotated key')
      }
      if (lapsedInOutage(err)) {
        throw new GossipError('lapsed-evidence', 'the origin\'s token had lapsed when it published, as in an issuer outage')
      }
      throw new GossipError('no-admission', err instanceof AdmissionError ? err.reason : 'the token does not verify')
    }
  }
}

/** What gossipsub is told about a live message that failed a check, and who (if anyone) is charged with `reason`. */
export interface Verdict {
  result: TopicValidatorResult.Ignore | TopicValidatorResult.Reject
  reason: GossipRefusal
  /** the peer to charge, if the failure is somebody's offence */
  blame?: string
}

/**
 * A live message from `source` (the propagation source) failed with `err`.
 * Duplicates and stale copies are ignored; an equivocation is charged to
 * its signer and ignored, since a relay that met this copy first forwarded
 * it honestly; so is a message of an origin revoked so lately that the
 * source may not have the list yet (`mayNotKnowRevoked`, state.ts), but
 * nobody is charged; anything else is the source's doing and rejected.
 */
export function verdictOn (err: unknown, source: string, mayNotKnowRevoked?: (revoked: string, sender: string) => boolean): Verdict {
  const reason: GossipRefusal = err instanceof GossipError ? err.reason : 'malformed'
  if (IGNORED.has(reason) || excusedRevoked(err, source, mayNotKnowRevoked)) {
    return { result: TopicValidatorResult.Ignore, reason }
  }
  if (err instanceof GossipError && err.signer != null && err.signer !== source) {
    return { result: TopicValidatorResult.Ignore, reason, blame: err.signer }
  }
  return { result: TopicValidatorResult.Reject, reason, blame: source }
}

/** Is `err` a frame of a revoked origin that an honest `sender` may not know is revoked yet? */
export function excusedRevoked (err: unknown, sender: string, mayNotKnowRevoked?: (revoked: string, sender: string) => boolean): boolean {
  return err instanceof GossipError && err.reason === 'revoked-origin' && err.about != null && mayNotKnowRevoked?.(err.about, sender) === true
}

/**
 * Who vouched for an anomaly's content under its id: its origin, or for a
 * relayed one the original origin (whose signature the provenance carries).
 */
export function signerOf (a: Anomaly): string {
  return a.provenance?.origin ?? a.origin
}
