/**
 * A carrier's proof that a fragment's source may speak in this overlay, and
 * the freshest such proof this node can attach when it hands the fragment on.
 *
 * A source signs its bundle with its token of the time. A carrier may hold
 * the bundle past a key rotation, so a fragment is accepted if the token was
 * valid when the bundle was created or is valid now (a holder may have
 * swapped in a newer token, which the source's signature does not cover);
 * a revoked source is refused either way. A bundle from another overlay
 * carries instead the endorsement of a bridge of this overlay, which checked
 * its source under that overlay's trust anchor.
 */
import { AdmissionError } from '../admission/errors.ts'
import { lapsedInOutage } from '../admission/refusal-cost.ts'
import { verifyThenOrNow } from '../admission/verifier.ts'
import { tokenKid } from '../admission/token.ts'
import { endorsementToWire, toWire } from './bundle.ts'
import { DtnError } from './errors.ts'
import type { Endorsement, Fragment } from './bundle.ts'
import type { Bundle as PbBundle } from './pb/dtn.ts'
import type { TokenClaims } from '../admission/token.ts'
import type { TokenVerifier } from '../admission/verifier.ts'

/** A token and the key certificate that goes with it. */
export interface Evidence { token: string, keyCertificate: string }

/** The newest token this node knows of a peer (its own, or the one an admitted peer showed), if any. */
export type KnownEvidence = (peer: string) => Evidence | undefined

/**
 * The source was admitted: its token was valid when it created the bundle,
 * or is valid now, and it is not revoked. An endorsed fragment is checked
 * through its bridge instead (`overlay` is this node's).
 */
export async function checkEvidence (f: Fragment, verifier: TokenVerifier, overlay: string | undefined): Promise<void> {
  if (f.endorsement != null) {
    await checkEndorsement(f, f.endorsement, verifier, overlay)
    return
  }
  if (f.token === '') {
    throw new DtnError('no-admission')
  }
  const verify = async (at?: number): Promise<void> => {
    await verifier.verify(f.token, { sub: f.source, keyCertificate: f.keyCertificate === '' ? undefined : f.keyCertificate, at })
  }
  try {
    await verifyThenOrNow(verify, f.createdAt)
  } catch (err) {
    if (err instanceof AdmissionError && err.reason === 'revoked') {
      throw new DtnError('revoked-source')
    }
    if (err instanceof AdmissionError && err.reason === 'rotated-key') {
      // created before a key rotation, and no holder had a newer token of
      // the source to refresh it with: an honest carrier's copy
      throw new DtnError('stale-evidence')
    }
    if (lapsedInOutage(err)) {
      throw new DtnError('lapsed-evidence', 'the source\'s token had lapsed, as in an issuer outage')
    }
    throw new DtnError('no-admission', err instanceof AdmissionError ? err.reason : 'the token does not verify')
  }
}

/**
 * A bundle from another overlay: its source's token is of that overlay's
 * issuer, which this node does not know. A bridge of this overlay checked
 * it under that overlay's trust anchor and endorsed the bundle: the bridge
 * must be admitted here, as a bridge, when it endorsed it (or now), and the
 * bundle must be addressed to this overlay.
 */
async function checkEndorsement (f: Fragment, e: Endorsement, verifier: TokenVerifier, overlay: string | undefined): Promise<void> {
  if (f.destination.overlay !== overlay) {
    throw new DtnError('bad-endorsement', 'an endorsed bundle for another overlay')
  }
  const verify = async (at?: number): Promise<TokenClaims> =>
    await verifier.verify(e.token, { sub: e.bridge, keyCertificate: e.keyCertificate === '' ? undefined : e.keyCertificate, at })
  try {
    const claims = await verifyThenOrNow(verify, e.endorsedAt)
    if (claims.typ !== 'bridge') {
      throw new DtnError('bad-endorsement', 'endorsed by a node that is not a bridge')
    }
  } catch (err) {
    if (err instanceof DtnError) {
      throw err
    }
    if (err instanceof AdmissionError && err.reason === 'revoked') {
      throw new DtnError('revoked-source')
    }
    if (err instanceof AdmissionError && err.reason === 'rotated-key') {
      throw new DtnError('stale-evidence')
    }
    if (lapsedInOutage(err)) {
      throw new DtnError('lapsed-evidence', 'the endorsing bridge\'s token had lapsed, as in an issuer outage')
    }
    throw new DtnError('bad-endorsement', err instanceof AdmissionError ? err.reason : 'the bridge\'s token does not verify')
  }
}

/** A fragment's wire form, with the freshest evidence known for its source and its endorsing bridge. */
export function wireFor (f: Fragment, routing: { hops: number, copies: number }, known: KnownEvidence): PbBundle {
  const wire = toWire(f, routing)
  if (f.endorsement == null) {
    // the freshest evidence of the source: a newer token of it if this node knows one, else the one the fragment carries
    return { ...wire, ...(freshestOf(f.source, f.token, known) ?? { token: f.token, keyCertificate: f.keyCertificate }) }
  }
  // the source's token is of another overlay: only the bridge's can be refreshed here
  const fresher = freshestOf(f.endorsement.bridge, f.endorsement.token, known)
  return fresher == null ? wire : { ...wire, endorsement: endorsementToWire({ ...f.endorsement, ...fresher }) }
}

/** A newer token of `peer` (signed with another issuer key) than `token`, if this node knows one. */
function freshestOf (peer: string, token: string, known: KnownEvidence): Evidence | undefined {
  const fresher = known(peer)
  if (fresher != null && fresher.token !== '' && fresher.token !== token) {
    try {
      if (tokenKid(fresher.token) !== tokenKid(token)) {
        return { token: fresher.token, keyCertificate: fresher.keyCertificate }
      }
    } catch {}
  }
  return undefined
}
