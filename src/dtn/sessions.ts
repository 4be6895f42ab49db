/**
 * When sessions run. Each side offers on its own: when an admitted peer
 * connects, every period, and soon after it learned something new. To one
 * peer, one session at a time: a call while one runs asks for one more after
 * it, and sessions to a peer start at least `MIN_SESSION_INTERVAL_MS`
 * apart, so a burst of news waits a little and goes in one session.
 *
 * No libp2p here: the session itself (offer.ts) and the peers to offer to
 * are handed in.
 */
import { MIN_SESSION_INTERVAL_MS } from './constants.ts'

export interface SessionSchedulerInit {
  /** one session to `peer` (it settles when the session has ended, however it ended) */
  offer: (peer: string) => Promise<void>
  /** the peers to offer to every period and after news: the admitted peers connected now */
  peers: () => string[]
}

/** our sessions to one peer: whether another was asked for meanwhile, and when all are done */
interface Session { again: boolean, done: Promise<void> }

/** peers whose last session start is remembered */
const MAX_PEERS_REMEMBERED = 4096
/** news within this many ms goes to the peers in one round of offers */
const SOON_MS = 20

export class SessionScheduler {
  private readonly init: SessionSchedulerInit
  /** peers with a session of ours running */
  private readonly sessions = new Map<string, Session>()
  /** when our last session to each peer started: at most one a second */
  private readonly lastSession = new Map<string, number>()
  private soonTimer?: ReturnType<typeof setTimeout>
  private started = false

  constructor (init: SessionSchedulerInit) {
    this.init = init
  }

  get running (): boolean {
    return this.started
  }

  start (): void {
    this.started = true
  }

  stop (): void {
    this.started = false
    clearTimeout(this.soonTimer)
    // forgotten too: a timer cleared here never runs, and one still marked
    // pending would keep `offerSoon` silent after a restart
    this.soonTimer = undefined
  }

  /**
   * Offer `peer` what it should take now. While a session to `peer` runs, a
   * call asks for one more after it; either way the promise settles once
   * the sessions that cover this call have ended.
   */
  async sync (id: string): Promise<void> {
    const running = this.sessions.get(id)
    if (running != null) {
      running.again = true
      await running.done
      return
    }
    // runSessions gets past its first await (and so to its end) only after `done` is set
    const session: Session = { again: false, done: Promise.resolve() }
    this.sessions.set(id, session)
    session.done = this.runSessions(id, session)
    await session.done
  }

  /** Offer to every peer now (every period). */
  offerToAll (): void {
    if (!this.started) {
      return
    }
    for (const peer of this.init.peers()) {
      void this.sync(peer)
    }
  }

  /** Offer to every peer shortly (new bundles, receipts: coalesced). */
  offerSoon (): void {
    // a one-shot delay from the first piece of news, not a debounce: a steady
    // stream of news must not put the offers off for as long as it lasts
    if (this.soonTimer != null || !this.started) {
      return
    }
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined
      this.offerToAll()
    }, SOON_MS)
    this.soonTimer.unref?.()
  }

  /** Sessions to `peer`, one after another while more are asked for. */
  private async runSessions (id: string, session: Session): Promise<void> {
    try {
      do {
        session.again = false
        // at most one session a second to a peer: a burst of news waits a little and goes in one
        const wait = (this.lastSession.get(id) ?? -Infinity) + MIN_SESSION_INTERVAL_MS - performance.now()
        if (wait > 0) {
          await new Promise(resolve => setTimeout(resolve, wait).unref?.())
        }
        this.lastSession.set(id, performance.now())
        if (this.lastSession.size > MAX_PEERS_REMEMBERED) {
          this.lastSession.delete(this.lastSession.keys().next().value as string)
        }
        if (this.started) {
          await this.init.offer(id)
        }
      } while (session.again && this.started)
    } finally {
      this.sessions.delete(id)
    }
  }
}
