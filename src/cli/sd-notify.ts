/**
 * systemd's readiness protocol (sd_notify(3)) for `tempus start` under a
 * `Type=notify` unit: `READY=1` once the node is ready, `RELOADING=1` and
 * `READY=1` around a reload, `STOPPING=1` on stop, `STATUS=` saying why it
 * is not ready. Node has no unix datagram sockets, so each message goes
 * through systemd's own `systemd-notify`, which is on every systemd host:
 * it sends from its own process, and waits (a `BARRIER=1`) until systemd
 * has read the message, so systemd still finds the sender in the service's
 * cgroup; the unit says `NotifyAccess=all` to take a child's message.
 * Messages go out one at a time, in order. Without `NOTIFY_SOCKET` (not
 * under systemd) nothing is sent.
 */
import { execFile } from 'node:child_process'
import type { PinoLogger } from '../logging/logger.ts'

/** one message must not hold up a stop or a reload longer than this */
const NOTIFY_TIMEOUT_MS = 5_000

export interface Notifier {
  /** send `KEY=VALUE` lines as one message; resolves when systemd-notify is done (never rejects) */
  notify: (fields: Record<string, string>) => Promise<void>
}

export interface NotifierInit {
  env?: NodeJS.ProcessEnv
  log: PinoLogger
  /** the program to run (default `systemd-notify` on the PATH) */
  program?: string
}

/** A notifier when `NOTIFY_SOCKET` is set, else undefined. */
export function systemdNotifier (init: NotifierInit): Notifier | undefined {
  const env = init.env ?? process.env
  const socket = env.NOTIFY_SOCKET
  if (socket == null || socket === '') {
    return undefined
  }
  const program = init.program ?? 'systemd-notify'
  let queue: Promise<void> = Promise.resolve()
  let warned = false
  const send = async (fields: Record<string, string>): Promise<void> => {
    // one argument per field: a STATUS text with spaces or `=` stays whole
    const args = Object.entries(fields).map(([key, value]) => `${key}=${value.replace(/\n/g, ' ')}`)
    await new Promise<void>(resolve => {
      execFile(program, args, { env: { ...process.env, ...env }, timeout: NOTIFY_TIMEOUT_MS }, (err, _stdout, stderr) => {
        if (err != null && !warned) {
          warned = true
          init.log.warn({ program, code: (err as any).code, stderr: stderr.trim().slice(0, 200) }, 'NOTIFY_SOCKET is set but systemd-notify failed: systemd will not see this node\'s readiness (install systemd, or leave Type=notify out of the unit)')
        }
        resolve()
      })
    })
  }
  return {
    notify: async fields => {
      queue = queue.then(async () => { await send(fields) })
      await queue
    }
  }
}

/** CLOCK_MONOTONIC in µs, as `RELOADING=1` wants it (libuv's hrtime reads that clock on Linux) */
export function monotonicUsec (): string {
  return (process.hrtime.bigint() / 1000n).toString()
}
