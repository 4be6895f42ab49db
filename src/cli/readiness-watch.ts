/**
 * `tempus start`'s readiness, as a supervisor sees it: re-evaluated on the
 * events that change it (an admission, a connection opened or closed, a
 * new token) and every few seconds (a token runs out with no event), it
 * logs each change of state — `node ready`, or `node not ready` with the
 * reasons — and tells systemd when `NOTIFY_SOCKET` is set: `READY=1` the
 * first time the node is ready, `STATUS=` at each change of state.
 */
import type { Readiness } from '../node/readiness.ts'
import type { PinoLogger } from '../logging/logger.ts'
import type { Notifier } from './sd-notify.ts'

/** catches what no event announces: a token that ran out */
const RECHECK_MS = 5_000

/** what the watcher needs of a node: its readiness and the events that change it */
export interface ReadinessSource {
  readiness: () => Readiness
  readonly admission: EventTarget
  readonly tokens: EventTarget
  readonly libp2p: { addEventListener: (type: 'connection:open' | 'connection:close', listener: () => void) => void, removeEventListener: (type: 'connection:open' | 'connection:close', listener: () => void) => void }
}

export interface ReadinessWatch {
  /** READY=1 was sent (or would have been, without systemd) */
  readonly readySent: boolean
  /** re-evaluate now */
  check: () => void
  stop: () => void
}

/** `STATUS=` text: one line a person reads in `systemctl status` */
export function statusLine (r: Readiness): string {
  if (r.ready) {
    return r.aloneByDesign && r.admittedPeers === 0 ? 'ready: no bootstrap peers configured (alone by design)' : `ready: admitted to ${r.admittedPeers} peer(s)`
  }
  return `not ready: ${r.reasons.map(reason => reason.code).join(', ')}`
}

export function watchReadiness (node: ReadinessSource, log: PinoLogger, notifier?: Notifier): ReadinessWatch {
  let readySent = false
  let lastState = ''
  const check = (): void => {
    const readiness = node.readiness()
    // a change of state, not of the peer count: churn neither floods the log nor spawns systemd-notify
    const state = readiness.ready ? 'ready' : readiness.reasons.map(r => r.code).join(',')
    if (state === lastState) {
      return
    }
    lastState = state
    const line = statusLine(readiness)
    if (readiness.ready) {
      log.info({ admittedPeers: readiness.admittedPeers, aloneByDesign: readiness.aloneByDesign }, 'node ready')
    } else {
      log.info({ reasons: readiness.reasons }, 'node not ready')
    }
    const fields: Record<string, string> = { STATUS: line }
    if (readiness.ready && !readySent) {
      readySent = true
      fields.READY = '1'
    }
    void notifier?.notify(fields)
  }
  const onEvent = (): void => { check() }
  node.admission.addEventListener('admitted', onEvent)
  node.tokens.addEventListener('token', onEvent)
  node.libp2p.addEventListener('connection:open', onEvent)
  node.libp2p.addEventListener('connection:close', onEvent)
  const timer = setInterval(check, RECHECK_MS)
  timer.unref()
  check()
  return {
    get readySent () { return readySent },
    check,
    stop: () => {
      clearInterval(timer)
      node.admission.removeEventListener('admitted', onEvent)
      node.tokens.removeEventListener('token', onEvent)
      node.libp2p.removeEventListener('connection:open', onEvent)
      node.libp2p.removeEventListener('connection:close', onEvent)
    }
  }
}
