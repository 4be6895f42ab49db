/**
 * Catch-up: gossip is best effort, so a node that was cut off (or lost a
 * message in a mesh change) asks one peer for the unexpired anomalies it
 * may have missed, and serves the same request to others, a page at a time.
 *
 * A node catches up when it connects after being isolated, at most once per
 * `CATCH_UP_MIN_INTERVAL_MS` on other connections, and from a random peer
 * every period (the service runs the timer).
 */
import { lengthPrefixed } from '../core/length-prefix.ts'
import { RateLimiter, pbStream } from '@libp2p/utils'
import { isPeerFault, peerDecoded } from '../admission/cut-read.ts'
import { DIGEST_BYTES, bucketDigests, differingRanges, digestLayout } from './catch-up-digest.ts'
import {
  CATCH_UP_BUCKETS, CATCH_UP_DIGEST_PROTOCOL, CATCH_UP_DIGEST_WINDOW_MS, CATCH_UP_MAX_PAGES, CATCH_UP_MIN_INTERVAL_MS, CATCH_UP_PEERS_REMEMBERED, CATCH_UP_OVERLAP_MS, CATCH_UP_PAGE,
  CATCH_UP_PER_PEER_PER_MINUTE, CATCH_UP_PROTOCOLS, CATCH_UP_TIMEOUT_MS, GOSSIP_SKEW_MS, MAX_ANOMALY_LIFETIME_MS, MAX_CATCH_UP_BUCKETS, MAX_CATCH_UP_REQUEST_BYTES,
  MAX_CATCH_UP_RESPONSE_BYTES
} from './constants.ts'
import type { DigestLayout } from './catch-up-digest.ts'
import { GossipError, IGNORED } from './errors.ts'
import { CatchUpRequest, CatchUpResponse } from './pb/gossip.ts'
import type { Anomaly } from './anomaly.ts'
import type { BoundAnomaly } from './anomaly-id.ts'
import type { GossipRefusal } from './errors.ts'
import type { AnomalyStore } from './store.ts'
import { excusedRevoked } from './validation.ts'
import type { Checked } from './validation.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { Connection, Logger, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export interface CatchUpInit {
  state: AdmissionState
  store: Pick<AnomalyStore, 'newest' | 'page' | 'servable'>
  connectionManager: ConnectionManager
  now: () => number
  log: Logger
  /** check a caught-up frame as a live one, without an author (validation.ts); `decoded` sees the anomaly once its body decodes */
  check: (data: Uint8Array, decoded: (a: Anomaly) => void) => Promise<Checked>
  /** store and deliver a caught-up anomaly: true if it was new */
  deliver: (anomaly: BoundAnomaly, data: Uint8Array) => boolean
  /** charge `peer` with a refused anomaly (none: refused, and nobody charged) */
  refused: (peer: string | undefined, reason: GossipRefusal) => void
  /** told of each page fetched from a peer or served to one (metrics) */
  onPage?: (role: 'fetched' | 'served') => void
}

export class CatchUp {
  private readonly init: CatchUpInit
  private readonly limiter = new RateLimiter({ points: CATCH_UP_PER_PEER_PER_MINUTE, duration: 60 })
  /**
   * What this node asks of each peer, kept within what the peer serves:
   * every page is a request the responder counts (`limiter`, on its side),
   * and one over its rate is charged. A node whose only connection comes
   * and goes (an RPC client that connects, calls and closes) is isolated at
   * each connect and would ask every time: 208 requests over the rate, and
   * a score of 7.9 at a sentinel (throttled at 10), for 220 connect-and-call
   * cycles of `bench:admission`. Half the responder's rate per minute, in
   * windows of our own: however the two sides' windows fall, the responder
   * counts at most its rate.
   */
  private readonly asking = new RateLimiter({ points: Math.floor(CATCH_UP_PER_PEER_PER_MINUTE / 2), duration: 60 })
  private lastCatchUp = -Infinity
  /** when this node last caught up from each peer (oldest first; bounded) */
  private readonly askedAt = new Map<string, number>()
  /** where the last catch-up started, if a responder broke it off (see `catchUp`) */
  private resumeFrom?: number
  private isolated = true
  /** our digests of the last layout asked about (see `ourDigests`) */
  private lastDigests?: { key: string, at: number, digests: Uint8Array }

  constructor (init: CatchUpInit) {
    this.init = init
  }

  /**
   * Ask one peer for the unexpired anomalies published since the newest
   * one held (less an overlap for late arrivals), a page at a time, at most
   * `CATCH_UP_MAX_PAGES` pages. Each frame is checked like a live one, and
   * must come in order after the one before. A frame that fails stops the
   * catch-up and charges the peer, and the next catch-up (from another peer)
   * starts where this one started: what the failed one stored, however new,
   * must not move the window past what it withheld or forged.
   */
  async catchUp (peer: PeerId): Promise<number> {
    const { store, connectionManager, log } = this.init
    if (!this.mayAsk(peer)) {
      // nothing asked, nothing counted as a catch-up: the periodic one stays due
      log('no catch-up from %p: this node has asked it all it serves this minute', peer)
      return 0
    }
    this.lastCatchUp = this.init.now()
    this.askedAt.delete(peer.toString())
    this.askedAt.set(peer.toString(), this.lastCatchUp)
    if (this.askedAt.size > CATCH_UP_PEERS_REMEMBERED) {
      this.askedAt.delete(this.askedAt.keys().next().value as string)
    }
    this.isolated = false
    const now = this.init.now()
    const newest = store.newest()
    // an older peer (1.0.0) is asked for what came after the newest held, less an overlap;
    // with digests (1.1.0) the window reaches back a whole default lifetime at least, and
    // the peer leaves out what this node holds (catch-up-digest.ts says why)
    const narrow = newest == null ? 0 : Math.max(0, newest - CATCH_UP_OVERLAP_MS)
    const wide = Math.max(0, now - MAX_ANOMALY_LIFETIME_MS - GOSSIP_SKEW_MS, Math.min(narrow, now - CATCH_UP_DIGEST_WINDOW_MS))
    let start = Math.min(narrow, this.resumeFrom ?? Number.POSITIVE_INFINITY)
    let since = start
    let afterId = new Uint8Array(0)
    let held: { layout: DigestLayout, digests: Uint8Array<ArrayBuffer> } | undefined
    let got = 0
    let brokenOff = true
    let paused = false
    try {
      for (let page = 0; page < CATCH_UP_MAX_PAGES; page++) {
        if (page > 0 && !this.mayAsk(peer)) {
          // the rest waits for a later catch-up, which resumes from `start` (brokenOff)
          log('catch-up from %p paused: this node has asked it all it serves this minute', peer)
          paused = true
          break
        }
        const signal = AbortSignal.timeout(CATCH_UP_TIMEOUT_MS)
        const stream = await connectionManager.openStream(peer, CATCH_UP_PROTOCOLS, { signal })
        if (page === 0 && stream.protocol === CATCH_UP_DIGEST_PROTOCOL) {
          start = since = Math.min(wide, this.resumeFrom ?? Number.POSITIVE_INFINITY)
          const layout = digestLayout(start, now, CATCH_UP_BUCKETS)
          held = { layout, digests: new Uint8Array(bucketDigests(store.servable(now, start), layout)) }
        }
        let response: CatchUpResponse
        try {
          const pb = pbStream(stream, lengthPrefixed({ maxDataLength: MAX_CATCH_UP_RESPONSE_BYTES }))
          const digests = held == null ? {} : { digestStart: BigInt(held.layout.start), digestSpan: held.layout.span, digests: held.digests }
          await pb.write({ since: BigInt(since), afterId, limit: CATCH_UP_PAGE, ...digests }, CatchUpRequest, { signal })
          response = await pb.read(CatchUpResponse, { signal, limits: { frames: CATCH_UP_PAGE } })
          await stream.close({ signal })
        } catch (err) {
          stream.abort(err as Error)
          throw err
        }
        this.init.onPage?.('fetched')
        // the cursor moves past every frame that decodes, taken or not; an
        // honest responder pages in (timestamp, id) order after the request's
        // cursor, so a frame at or before it is the responder's doing
        const cursor = (a: Anomaly): void => {
          const previous = Buffer.from(afterId).toString('hex')
          if (a.timestamp < since || (a.timestamp === since && a.id <= previous)) {
            throw new GossipError('malformed', 'catch-up frames out of order')
          }
          since = a.timestamp
          afterId = Uint8Array.from(Buffer.from(a.id, 'hex'))
        }
        for (const data of response.frames) {
          let checked: Checked
          try {
            checked = await this.init.check(data, cursor)
          } catch (err) {
            const reason = err instanceof GossipError ? err.reason : 'malformed'
            if (IGNORED.has(reason)) {
              continue
            }
            // an origin revoked a moment ago: the responder may not have the list yet
            if (excusedRevoked(err, peer.toString(), this.init.state.mayNotKnowRevoked.bind(this.init.state))) {
              this.init.refused(undefined, reason)
              continue
            }
            if (err instanceof GossipError && err.signer != null) {
              // an honest responder may hold the other copy (it met that one
              // first): the signer pays, the catch-up goes on
              this.init.refused(err.signer, reason)
              continue
            }
            this.init.refused(peer.toString(), reason)
            throw err
          }
          if (this.init.deliver(checked.anomaly as BoundAnomaly, data)) {
            got++
          }
        }
        if (!response.more) {
          break
        }
      }
      // done, or at the page limit (the next catch-up pages on from the newest);
      // paused, the next one starts where this one did
      brokenOff = paused
      if (got > 0) {
        log('caught up %d anomalies from %p', got, peer)
      }
    } catch (err: any) {
      log('catch-up from %p stopped - %s', peer, err?.reason ?? err?.name)
    }
    // catch-ups may overlap (on connect, periodic): the earliest broken-off
    // start stands until a complete one covers it
    if (brokenOff) {
      this.resumeFrom = Math.min(this.resumeFrom ?? start, start)
    } else if (this.resumeFrom != null && start <= this.resumeFrom) {
      this.resumeFrom = undefined
    }
    return got
  }

  /**
   * A peer connected: catch up from it if this node was cut off, had no
   * catch-up for a while, or has not caught up from this peer lately. The
   * last matters after a partition heals: the connection that comes back
   * is to a node of the other side, which holds what this side missed,
   * while this node, never isolated, caught up from its own side moments
   * ago. Without it, what was published across the partition spread at the
   * pace of the periodic catch-up, a random peer every 30 s, and missed
   * nodes for a minute and more (the chaos harness, issue #20).
   */
  onConnect (peer: PeerId): void {
    const now = this.init.now()
    const key = peer.toString()
    const fromIt = this.askedAt.get(key)
    if (this.isolated || now - this.lastCatchUp >= CATCH_UP_MIN_INTERVAL_MS || fromIt == null || now - fromIt >= CATCH_UP_MIN_INTERVAL_MS) {
      void this.catchUp(peer)
    }
  }

  /** A peer disconnected: with none left, the next connection catches up at once. */
  onDisconnect (): void {
    if (this.init.connectionManager.getConnections().length === 0) {
      this.isolated = true
    }
  }

  /** Every period: a message lost in a mesh change is fetched from a random peer, even without a reconnection. */
  periodic (): void {
    if (this.init.now() - this.lastCatchUp < CATCH_UP_MIN_INTERVAL_MS / 2) {
      return
    }
    const connections = this.init.connectionManager.getConnections()
    const pick = connections[Math.floor(Math.random() * connections.length)]
    if (pick != null) {
      void this.catchUp(pick.remotePeer)
    }
  }

  /** May this node send `peer` one more catch-up request now (`asking`)? Counts it if so. */
  private mayAsk (peer: PeerId): boolean {
    const key = peer.toString()
    // spent this window: said without `consume`, whose refusal is a thrown Error with its stack
    // (at every connect of a fleet's connect → call → close, once the pace is reached)
    const used = this.asking.get(key)
    if (used != null && used.remainingPoints === 0 && used.msBeforeNext > 0) {
      return false
    }
    try {
      this.asking.consume(key, 1)
      return true
    } catch {
      return false
    }
  }

  /** Answer a peer's catch-up request with one page of what this node holds. */
  async serve (stream: Stream, connection: Connection): Promise<void> {
    const { state } = this.init
    const peer = connection.remotePeer.toString()
    const signal = AbortSignal.timeout(CATCH_UP_TIMEOUT_MS)
    try {
      try {
        this.limiter.consume(peer, 1)
      } catch {
        state.raise(peer, 'timeout', 'gossip:catch-up-rate')
        stream.abort(new Error('catch-up rate limited'))
        return
      }
      const pb = pbStream(stream, lengthPrefixed({ maxDataLength: MAX_CATCH_UP_REQUEST_BYTES }))
      let request: CatchUpRequest
      try {
        request = await pb.read(peerDecoded(CatchUpRequest), { signal })
      } catch (err: any) {
        // only the peer's bytes are its offence: a read cut, timed out or aborted by our side is nobody's
        if (isPeerFault(err)) state.raise(peer, 'malformed-frame', `gossip:catch-up:${String(err?.name)}`)
        stream.abort(new Error('malformed catch-up request'))
        return
      }
      const limit = Math.min(Math.max(request.limit, 1), CATCH_UP_PAGE)
      const since = request.since > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(request.since)
      const now = this.init.now()
      const layout = layoutOf(request)
      if (layout === 'malformed') {
        state.raise(peer, 'malformed-frame', 'gossip:catch-up:digests')
        stream.abort(new Error('malformed catch-up digests'))
        return
      }
      const afterId = Buffer.from(request.afterId).toString('hex')
      const frames = layout == null
        ? this.init.store.page(now, since, afterId, limit).frames
        : this.pageWhereDiffering(now, since, afterId, limit, layout, request.digests)
      await pb.write({ frames: frames as Array<Uint8Array<ArrayBuffer>>, more: frames.length === limit }, CatchUpResponse, { signal })
      this.init.onPage?.('served')
      await stream.close({ signal })
    } catch (err: any) {
      this.init.log('catch-up for %s failed - %s', peer, err?.name)
      stream.abort(err)
    }
  }

  /** A page of what this node holds after the cursor, in the buckets where the asker's digests differ from ours, oldest first. */
  private pageWhereDiffering (now: number, since: number, afterId: string, limit: number, layout: DigestLayout, theirs: Uint8Array): Uint8Array[] {
    const { store } = this.init
    const mine = this.ourDigests(now, layout)
    const frames: Uint8Array[] = []
    for (const within of differingRanges(mine, theirs, layout)) {
      if (within.to <= since) {
        continue
      }
      frames.push(...store.page(now, since, afterId, limit - frames.length, within).frames)
      if (frames.length >= limit) {
        break
      }
    }
    return frames
  }

  /**
   * Our digests of `layout`: an asker's pages (up to 8 requests) share its
   * layout, so they are summed up once, and reused for a few seconds. An
   * anomaly stored meanwhile is missed by those pages at worst, and taken
   * by the next catch-up.
   */
  private ourDigests (now: number, layout: DigestLayout): Uint8Array {
    const key = `${layout.start}/${layout.span}/${layout.buckets}`
    const last = this.lastDigests
    if (last != null && last.key === key && now - last.at >= 0 && now - last.at < OUR_DIGESTS_MS) {
      return last.digests
    }
    const digests = bucketDigests(this.init.store.servable(now, layout.start), layout)
    this.lastDigests = { key, at: now, digests }
    return digests
  }
}

/** how long our digests of one layout answer the pages of one catch-up (each page is a request of its own) */
const OUR_DIGESTS_MS = 5_000

/** The bucket layout a request's digests are of; none without digests (everything after the cursor is wanted), or `malformed`. */
function layoutOf (request: CatchUpRequest): DigestLayout | undefined | 'malformed' {
  if (request.digests.length === 0) {
    return undefined
  }
  const buckets = request.digests.length / DIGEST_BYTES
  if (!Number.isInteger(buckets) || buckets > MAX_CATCH_UP_BUCKETS || request.digestSpan < 1 || request.digestStart > BigInt(Number.MAX_SAFE_INTEGER)) {
    return 'malformed'
  }
  return { start: Number(request.digestStart), span: request.digestSpan, buckets }
}
