/**
 * `tempus doctor --data DIR`: checks a node's data directory while the node
 * is stopped, and prints one line per check: `ok`, `warn` or `fail`, what it
 * found and, when it is not ok, what to do. Exit 0 when nothing failed, 1
 * otherwise (a warning does not fail). It reads and asks, and changes
 * nothing: no file is written, no lock taken, no code or token spent.
 *
 * Checks, in order: the directory and its files (present, owner-only
 * modes), the config file, the identity key (decrypts with the passphrase
 * given), the enrolment (present, for this key), the credential's expiry,
 * each issuer replica (reachable) and the clock's skew against it (its
 * `Date` header: tokens live minutes, so a clock a minute off is refused),
 * and the ports the node would listen on (free).
 */
import { stat } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { credentialLifetime } from '../../admission/credential.ts'
import { enrolledIssuers, ENROLLMENT_FILE, loadEnrollment } from '../../admission/enrollment.ts'
import { releaseIdentityKey } from '../../identity/index.ts'
import { loadConfigFile } from '../../node/config.ts'
import { DATA_FILES } from '../../node/constants.ts'
import { isAlive } from '../../storage/index.ts'
import { readFile } from 'node:fs/promises'
import { printJson } from '../output.ts'
import { passphraseHint } from '../passphrase.ts'
import { loadNodeKey } from '../node-key.ts'
import type { Enrollment } from '../../admission/enrollment.ts'
import type { TempusConfig } from '../../node/config.ts'

export type Verdict = 'ok' | 'warn' | 'fail'

export interface Check {
  check: string
  status: Verdict
  /** what was found, and when not ok what to do */
  detail: string
}

/** a clock this far off the issuer's is worth a word; tokens live 2 to 5 minutes */
export const SKEW_WARN_MS = 5_000
/** this far off, a fresh token looks expired or not yet valid to some peers */
export const SKEW_FAIL_MS = 60_000
/** a credential with less than this (or a quarter of its lifetime) left is worth renewing: a running node renews it at half */
const CREDENTIAL_WARN_MS = 7 * 24 * 3600_000
const ISSUER_TIMEOUT_MS = 5_000

function human (ms: number): string {
  const s = Math.abs(ms) / 1000
  return s < 120 ? `${s.toFixed(1)} s` : s < 7200 ? `${Math.round(s / 60)} min` : s < 172_800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86_400)} days`
}

async function modeOf (path: string): Promise<{ mode: number, dir: boolean } | undefined> {
  try {
    const s = await stat(path)
    return { mode: s.mode & 0o777, dir: s.isDirectory() }
  } catch (err: any) {
    if (err.code === 'ENOENT') {
      return undefined
    }
    throw err
  }
}

async function fileChecks (data: string): Promise<Check[]> {
  const checks: Check[] = []
  const dir = await modeOf(data)
  if (dir == null || !dir.dir) {
    return [{ check: 'data directory', status: 'fail', detail: `${data} ${dir == null ? 'does not exist' : 'is not a directory'}: create a node with: tempus init --data ${data} --type edge|bridge|sentinel` }]
  }
  checks.push(dir.mode & 0o077
    ? { check: 'data directory', status: 'warn', detail: `${data} is mode ${dir.mode.toString(8)}, readable by others: chmod 700 ${data}` }
    : { check: 'data directory', status: 'ok', detail: `${data} (mode ${dir.mode.toString(8)})` })
  const files: Array<[string, boolean, string]> = [
    [DATA_FILES.config, true, `tempus init --data ${data} --type …`],
    [DATA_FILES.identity, true, `tempus init --data ${data} --type … (a new key is a new PeerId: enrol it again)`],
    [DATA_FILES.apiToken, false, 'the node creates it when it starts'],
    [ENROLLMENT_FILE, false, `tempus enroll --data ${data} --issuer URL --code CODE`]
  ]
  for (const [name, required, fix] of files) {
    const path = join(data, name)
    const m = await modeOf(path)
    if (m == null) {
      // the enrolment gets a check of its own below
      if (name !== ENROLLMENT_FILE) {
        checks.push({ check: `file ${name}`, status: required ? 'fail' : 'warn', detail: `${path} is missing: ${fix}` })
      }
    } else if (m.mode & 0o077) {
      checks.push({ check: `file ${name}`, status: 'warn', detail: `${path} is mode ${m.mode.toString(8)}, readable by others: chmod 600 ${path}` })
    } else {
      checks.push({ check: `file ${name}`, status: 'ok', detail: `mode ${m.mode.toString(8)}` })
    }
  }
  return checks
}

/** The ports a node with this config would listen on, with a fixed port (0 picks one). */
function fixedPorts (config: TempusConfig): Array<{ what: string, host: string, port: number }> {
  const out: Array<{ what: string, host: string, port: number }> = []
  const fromMultiaddrs = (what: string, addrs: string[]): void => {
    for (const a of addrs) {
      const m = /^\/(?:ip4|ip6)\/([^/]+)\/tcp\/(\d+)/.exec(a)
      if (m != null && Number(m[2]) !== 0) {
        out.push({ what, host: m[1] ?? '', port: Number(m[2]) })
      }
    }
  }
  fromMultiaddrs('listen', config.listen)
  if (config.federation.enabled) {
    fromMultiaddrs('federation.listen', config.federation.listen)
  }
  if (config.api.enabled && config.api.listen.port !== 0) {
    out.push({ what: 'api.listen', host: config.api.listen.host, port: config.api.listen.port })
  }
  return out
}

async function portFree (host: string, port: number): Promise<string | undefined> {
  return await new Promise(resolve => {
    const server = createServer()
    server.once('error', (err: any) => { resolve(String(err.code ?? err.message)) })
    server.listen({ host, port, exclusive: true }, () => { server.close(() => { resolve(undefined) }) })
  })
}

async function issuerChecks (enrollment: Enrollment): Promise<Check[]> {
  const checks: Check[] = []
  let skewChecked = false
  for (const url of enrolledIssuers(enrollment)) {
    const sent = Date.now()
    let res: Response
    try {
      res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(ISSUER_TIMEOUT_MS) })
    } catch (err: any) {
      const why = String(err?.cause?.code ?? err?.cause?.message ?? err?.name ?? err)
      checks.push({ check: 'issuer', status: 'fail', detail: `${url} unreachable (${why}): is the issuer running and is the URL right? (enrollment.json; from the node's host: curl ${url}/healthz)` })
      continue
    }
    const received = Date.now()
    await res.arrayBuffer().catch(() => {})
    checks.push(res.ok
      ? { check: 'issuer', status: 'ok', detail: `${url} answers` }
      : { check: 'issuer', status: 'fail', detail: `${url}/healthz answered ${res.status}: look at the issuer's log` })
    const date = Date.parse(res.headers.get('date') ?? '')
    if (!skewChecked && Number.isFinite(date)) {
      skewChecked = true
      // the header has whole seconds: compare with the middle of the exchange, less half a second
      const skew = (sent + received) / 2 - (date + 500)
      const abs = Math.abs(skew)
      const direction = skew > 0 ? 'ahead of' : 'behind'
      checks.push(abs <= SKEW_WARN_MS
        ? { check: 'clock', status: 'ok', detail: `within ${human(SKEW_WARN_MS)} of the issuer's (${human(abs)} ${direction})` }
        : { check: 'clock', status: abs > SKEW_FAIL_MS ? 'fail' : 'warn', detail: `${(abs / 1000).toFixed(1)} s ${direction} the issuer's: tokens live minutes; synchronise the clock (timedatectl set-ntp true, or chrony)` })
    }
  }
  if (!skewChecked && checks.every(c => c.status !== 'ok')) {
    checks.push({ check: 'clock', status: 'warn', detail: 'not compared: no issuer answered' })
  }
  return checks
}

export async function runDoctor (data: string, options: { passphraseFile?: string, json?: boolean } = {}): Promise<Check[]> {
  const checks = await fileChecks(data)
  if (checks.some(c => c.check === 'data directory' && c.status === 'fail')) {
    return checks
  }
  // a running node holds the lock and its ports: say so, since the port checks then fail
  let running: number | undefined
  try {
    const holder = JSON.parse(await readFile(join(data, DATA_FILES.lock), 'utf8'))
    if (Number.isSafeInteger(holder?.pid) && isAlive(holder)) {
      running = holder.pid
    }
  } catch {}
  if (running != null) {
    checks.push({ check: 'node', status: 'warn', detail: `a node is running with this directory (pid ${running}); doctor checks a stopped node: ask the running one with tempus status --data ${data}` })
  }

  let config: TempusConfig | undefined
  try {
    config = await loadConfigFile(join(data, DATA_FILES.config))
    checks.push({ check: 'config', status: 'ok', detail: `${DATA_FILES.config}: a ${config.type} node` })
  } catch (err: any) {
    checks.push({ check: 'config', status: 'fail', detail: String(err.message) })
  }

  let peerId: string | undefined
  if (checks.some(c => c.check === `file ${DATA_FILES.identity}` && c.status !== 'fail')) {
    try {
      const { key, backend, passphrase } = await loadNodeKey(data, { ...options, path: join(data, DATA_FILES.identity) })
      if (key != null) {
        releaseIdentityKey(key)
        peerId = peerIdFromPrivateKey(key).toString()
        checks.push(backend === 'pkcs11'
          ? { check: 'identity key', status: 'ok', detail: `in a PKCS#11 token, signs: PeerId ${peerId}` }
          : passphrase === 'dev-default'
            ? { check: 'identity key', status: 'warn', detail: `decrypts (PeerId ${peerId}) with the public development passphrase: anyone with the file has the key; reseal it with a passphrase of your own` }
            : { check: 'identity key', status: 'ok', detail: `decrypts: PeerId ${peerId}` })
      }
    } catch (err: any) {
      const message = String(err.message)
      checks.push({ check: 'identity key', status: 'fail', detail: /wrong passphrase/.test(message) ? `${message}${passphraseHint()}` : message })
    }
  }

  let enrollment: Enrollment | undefined
  try {
    enrollment = await loadEnrollment(data)
    if (enrollment == null) {
      checks.push({ check: 'enrolment', status: 'fail', detail: `not enrolled: tempus enroll --data ${data} --issuer URL --code CODE (a code from: tempus issuer code --type ${config?.type ?? 'TYPE'})` })
    } else if (peerId != null && enrollment.peerId !== peerId) {
      checks.push({ check: 'enrolment', status: 'fail', detail: `${ENROLLMENT_FILE} is for ${enrollment.peerId}, the key is ${peerId}: enrol this key again (tempus enroll) or restore the key` })
    } else if (config != null && enrollment.typ !== config.type) {
      checks.push({ check: 'enrolment', status: 'fail', detail: `enrolled as ${enrollment.typ} but ${DATA_FILES.config} says ${config.type}: set type: ${enrollment.typ} in ${DATA_FILES.config}, or enrol again with a ${config.type} code` })
    } else {
      checks.push({ check: 'enrolment', status: 'ok', detail: `${enrollment.typ} in overlay ${enrollment.overlay}` })
    }
  } catch (err: any) {
    checks.push({ check: 'enrolment', status: 'fail', detail: String(err.message) })
  }

  if (enrollment != null) {
    const lifetime = credentialLifetime(enrollment.credential)
    const now = Date.now()
    if (lifetime == null) {
      checks.push({ check: 'credential', status: 'ok', detail: 'carries no expiry' })
    } else if (lifetime.expiresAt <= now) {
      checks.push({ check: 'credential', status: 'fail', detail: `expired ${new Date(lifetime.expiresAt).toISOString()} (${human(now - lifetime.expiresAt)} ago): enrol again with a new code (tempus enroll)` })
    } else if (lifetime.expiresAt - now < Math.min(CREDENTIAL_WARN_MS, (lifetime.expiresAt - lifetime.issuedAt) / 4)) {
      checks.push({ check: 'credential', status: 'warn', detail: `expires ${new Date(lifetime.expiresAt).toISOString()} (in ${human(lifetime.expiresAt - now)}): start the node so it renews it, or it must enrol again` })
    } else {
      checks.push({ check: 'credential', status: 'ok', detail: `expires ${new Date(lifetime.expiresAt).toISOString()} (in ${human(lifetime.expiresAt - now)})` })
    }
    checks.push(...await issuerChecks(enrollment))
  }

  if (config != null) {
    const ports = fixedPorts(config)
    if (ports.length === 0) {
      checks.push({ check: 'ports', status: 'ok', detail: 'no fixed port: the node picks free ones' })
    }
    for (const p of ports) {
      const problem = await portFree(p.host, p.port)
      const where = `${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`
      checks.push(problem == null
        ? { check: 'port', status: 'ok', detail: `${where} (${p.what}) is free` }
        : { check: 'port', status: 'fail', detail: `${where} (${p.what}): ${problem === 'EADDRINUSE' ? 'in use' : problem}${running != null ? ' (by the running node)' : ''}: stop what listens there (ss -ltnp) or change ${p.what} in ${DATA_FILES.config}` })
    }
  }
  return checks
}

export async function doctorCommand (opts: { data: string, passphraseFile?: string, json?: boolean }): Promise<void> {
  const checks = await runDoctor(opts.data, opts)
  const ok = checks.every(c => c.status !== 'fail')
  if (opts.json === true) {
    printJson({ ok, checks })
  } else {
    const width = Math.max(...checks.map(c => c.check.length))
    for (const c of checks) {
      process.stdout.write(`${c.status.padEnd(4)}  ${c.check.padEnd(width)}  ${c.detail}\n`)
    }
  }
  if (!ok) {
    process.exitCode = 1
  }
}
