/**
 * `tempus start` as systemd runs it (deploy/systemd/): the passphrase from
 * a credential (`$CREDENTIALS_DIRECTORY`, `LoadCredential=`), readiness on
 * `/readyz`, in `tempus status` and as sd_notify messages on a real unix
 * datagram socket (`NOTIFY_SOCKET`, python3 listening), and SIGHUP
 * reloading the RPC policy and the log level with connections kept. Real
 * processes: an issuer, a sentinel and an edge started by the CLI.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
import { connect } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, describe, it } from 'node:test'
import YAML from 'yaml'
import { killAll, spawnTempus, tempus } from '../fixtures/cli.ts'
import type { ChildProcess } from 'node:child_process'
import type { LongRunning } from '../fixtures/cli.ts'

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'

/** a unix datagram socket at `path` that prints each message it gets as a JSON line */
const LISTENER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps({"listening": sys.argv[1]}), flush=True)
while True:
    # no room for ancillary data: the fd of systemd-notify's BARRIER=1 is closed, which ends its wait
    print(json.dumps({"message": s.recv(65536).decode("utf-8", "replace")}), flush=True)
`

interface NotifySocket {
  path: string
  messages: string[]
  /** the next message (from `from` on) that `predicate` accepts; its index */
  next: (predicate: (m: string) => boolean, from?: number, timeoutMs?: number) => Promise<number>
  child: ChildProcess
}

async function notifySocket (path: string): Promise<NotifySocket> {
  const child = spawn(PYTHON, ['-c', LISTENER, path], { stdio: ['ignore', 'pipe', 'pipe'] })
  const messages: string[] = []
  const waiters = new Set<() => void>()
  let listening!: () => void
  const ready = new Promise<void>(resolve => { listening = resolve })
  createInterface({ input: child.stdout! }).on('line', line => {
    const parsed = JSON.parse(line)
    if (parsed.listening != null) {
      listening()
      return
    }
    messages.push(parsed.message)
    for (const w of waiters) w()
  })
  const failed = new Promise<never>((_resolve, reject) => { child.once('exit', code => { reject(new Error(`the python3 listener exited (${code})`)) }) })
  failed.catch(() => {})
  await Promise.race([ready, failed])
  return {
    path,
    messages,
    child,
    next: async (predicate, from = 0, timeoutMs = 60_000) => await new Promise((resolve, reject) => {
      const look = (): boolean => {
        const i = messages.findIndex((m, index) => index >= from && predicate(m))
        if (i >= 0) {
          waiters.delete(w)
          clearTimeout(timer)
          resolve(i)
          return true
        }
        return false
      }
      const w = (): void => { look() }
      const timer = setTimeout(() => { waiters.delete(w); reject(new Error(`timed out waiting for an sd_notify message; got ${JSON.stringify(messages)}`)) }, timeoutMs)
      if (!look()) waiters.add(w)
    })
  }
}

const fields = (message: string): Record<string, string> =>
  Object.fromEntries(message.split('\n').filter(l => l.includes('=')).map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))

/** a TCP port free right now on 127.0.0.1 */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise(resolve => server.close(resolve))
  return port
}

/** stderr as JSON log lines, with a wait for one */
function stderrLines (proc: LongRunning): { lines: any[], next: (predicate: (l: any) => boolean, timeoutMs?: number) => Promise<any> } {
  const lines: any[] = []
  const waiters = new Set<(l: any) => void>()
  createInterface({ input: proc.child.stderr! }).on('line', text => {
    let line: any
    try { line = JSON.parse(text) } catch { return }
    lines.push(line)
    for (const w of waiters) w(line)
  })
  return {
    lines,
    next: async (predicate, timeoutMs = 60_000) => await new Promise((resolve, reject) => {
      const past = lines.find(predicate)
      if (past != null) { resolve(past); return }
      const w = (l: any): void => { if (predicate(l)) { waiters.delete(w); clearTimeout(timer); resolve(l) } }
      const timer = setTimeout(() => { waiters.delete(w); reject(new Error(`timed out waiting for a log line; last: ${JSON.stringify(lines.slice(-5))}`)) }, timeoutMs)
      waiters.add(w)
    })
  }
}

/** a self-signed certificate and key (PEM files) made by openssl */
async function selfSigned (dir: string, name: string): Promise<{ cert: string, key: string }> {
  const cert = join(dir, `${name}.crt`)
  const key = join(dir, `${name}.key`)
  await new Promise<void>((resolve, reject) => {
    execFile('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', key, '-out', cert], { timeout: 30_000 }, err => { if (err == null) resolve(); else reject(err) })
  })
  return { cert, key }
}

/** the SHA-256 fingerprint of the certificate a TLS server at host:port shows now */
async function servedFingerprint (url: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return await new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false, timeout: 10_000 }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256
      socket.end()
      resolve(fingerprint)
    })
    socket.once('error', reject)
    socket.once('timeout', () => { socket.destroy(); reject(new Error('TLS connect timed out')) })
  })
}

describe('tempus as a systemd service', () => {
  const dirs: string[] = []
  const listeners: ChildProcess[] = []
  const tmp = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'tempus-svc-')); dirs.push(d); return d }
  after(async () => {
    await killAll()
    for (const l of listeners) l.kill('SIGKILL')
    await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true })))
  })

  it('reads the passphrase from $CREDENTIALS_DIRECTORY (LoadCredential=) when no variable or file gives one', async () => {
    const root = await tmp()
    const credentials = join(root, 'credentials')
    await mkdir(credentials, { mode: 0o700 })
    await writeFile(join(credentials, 'tempus-passphrase'), 'node-secret-from-systemd\n', { mode: 0o600 })
    await writeFile(join(credentials, 'tempus-issuer-passphrase'), 'issuer-secret-from-systemd\n', { mode: 0o600 })
    const CRED = { CREDENTIALS_DIRECTORY: credentials, TEMPUS_PASSPHRASE: '', TEMPUS_PASSPHRASE_FILE: '', TEMPUS_ISSUER_PASSPHRASE: '', TEMPUS_ISSUER_PASSPHRASE_FILE: '' }
    const data = join(root, 'node')
    const init = await tempus(['init', '--data', data, '--type', 'edge', '--no-mdns', '--json'], CRED)
    assert.equal(init.code, 0, init.stderr)
    assert.doesNotMatch(init.stderr, /development passphrase/i, 'the credential was used, not the dev default')
    const { peerId } = JSON.parse(init.stdout)
    // sealed with the credential's passphrase: the same one given by the usual variable opens it
    const byEnv = await tempus(['id', '--data', data, '--json'], { TEMPUS_PASSPHRASE: 'node-secret-from-systemd' })
    assert.equal(byEnv.code, 0, byEnv.stderr)
    assert.equal(JSON.parse(byEnv.stdout).peerId, peerId)
    // the variable still wins over the credential
    const wrongEnv = await tempus(['id', '--data', data], { ...CRED, TEMPUS_PASSPHRASE: 'not-it' })
    assert.equal(wrongEnv.code, 1)
    assert.match(wrongEnv.stderr, /wrong passphrase/)
    const wrongCredentials = join(root, 'wrong')
    await mkdir(wrongCredentials)
    await writeFile(join(wrongCredentials, 'tempus-passphrase'), 'not-it\n')
    const wrongCred = await tempus(['id', '--data', data], { ...CRED, CREDENTIALS_DIRECTORY: wrongCredentials })
    assert.equal(wrongCred.code, 1)
    assert.match(wrongCred.stderr, /wrong passphrase/)
    assert.ok(!wrongCred.stderr.includes('not-it') && !wrongCred.stderr.includes('node-secret'), 'no passphrase in the error')

    const iData = join(root, 'issuer')
    const issuerInit = await tempus(['issuer', 'init', '--data', iData, '--overlay', 'svc-cred', '--threshold', '1', '--json'], CRED)
    assert.equal(issuerInit.code, 0, issuerInit.stderr)
    assert.doesNotMatch(issuerInit.stderr, /development passphrase/)
    const code = await tempus(['issuer', 'code', '--data', iData, '--typ', 'edge', '--json'], { TEMPUS_ISSUER_PASSPHRASE: 'issuer-secret-from-systemd' })
    assert.equal(code.code, 0, code.stderr)
  })

  it('readiness: /readyz, tempus status and sd_notify READY=1 only once admitted; SIGHUP reloads the RPC policy and log level, connections kept; RELOADING=1/READY=1, STOPPING=1', async () => {
    const root = await tmp()
    const credentials = join(root, 'credentials')
    await mkdir(credentials, { mode: 0o700 })
    await writeFile(join(credentials, 'tempus-passphrase'), 'svc-node\n', { mode: 0o600 })
    await writeFile(join(credentials, 'tempus-issuer-passphrase'), 'svc-issuer\n', { mode: 0o600 })
    const ENV = { CREDENTIALS_DIRECTORY: credentials, TEMPUS_PASSPHRASE: '', TEMPUS_PASSPHRASE_FILE: '', TEMPUS_ISSUER_PASSPHRASE: '', TEMPUS_ISSUER_PASSPHRASE_FILE: '' }
    const iData = join(root, 'issuer')
    const sData = join(root, 's')
    const eData = join(root, 'e')

    // the issuer under "systemd" too: READY=1 once it listens
    const issuerSocket = await notifySocket(join(root, 'issuer.notify'))
    listeners.push(issuerSocket.child)
    assert.equal((await tempus(['issuer', 'init', '--data', iData, '--overlay', 'svc', '--threshold', '1'], ENV)).code, 0)
    const issuer = spawnTempus(['issuer', 'start', '--data', iData, '--listen', '127.0.0.1:0', '--json'], { ...ENV, NOTIFY_SOCKET: issuerSocket.path })
    const issuerUrl = JSON.parse(await issuer.nextLine(l => l.includes('"started"'))).url as string
    await issuerSocket.next(m => fields(m).READY === '1')
    const code = async (typ: string): Promise<string> => JSON.parse((await tempus(['issuer', 'code', '--data', iData, '--typ', typ, '--json'], ENV)).stdout).code

    // a sentinel on a port known in advance, not started yet; an edge that bootstraps from it
    const port = await freePort()
    const sInit = await tempus(['init', '--data', sData, '--type', 'sentinel', '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--no-mdns', '--json'], ENV)
    assert.equal(sInit.code, 0, sInit.stderr)
    const sentinelId = JSON.parse(sInit.stdout).peerId as string
    assert.equal((await tempus(['enroll', '--data', sData, '--issuer', issuerUrl, '--code', await code('sentinel')], ENV)).code, 0)
    assert.equal((await tempus(['init', '--data', eData, '--type', 'edge', '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', `/ip4/127.0.0.1/tcp/${port}/p2p/${sentinelId}`], ENV)).code, 0)
    assert.equal((await tempus(['enroll', '--data', eData, '--issuer', issuerUrl, '--code', await code('edge')], ENV)).code, 0)

    // the edge starts alone: it gets a token, but no peer admits it, so it is not ready
    const edgeSocket = await notifySocket(join(root, 'edge.notify'))
    listeners.push(edgeSocket.child)
    const edge = spawnTempus(['start', '--data', eData, '--json'], { ...ENV, NOTIFY_SOCKET: edgeSocket.path })
    const edgeApi = JSON.parse(await edge.nextLine(l => l.includes('"started"'))).api as string
    await edgeSocket.next(m => /^not ready: no-admitted-peer$/.test(fields(m).STATUS ?? ''))
    assert.ok(!edgeSocket.messages.some(m => fields(m).READY === '1'), 'no READY=1 before a peer admitted the edge')
    const notReady = await fetch(`${edgeApi}/readyz`)
    assert.equal(notReady.status, 503, 'no bearer token needed, and not ready')
    const notReadyBody = await notReady.json() as any
    assert.equal(notReadyBody.ready, false)
    assert.deepEqual(notReadyBody.reasons.map((r: any) => r.code), ['no-admitted-peer'])
    assert.match(notReadyBody.reasons[0].detail, /bootstrap peer/)
    const statusText = await tempus(['status', '--data', eData])
    assert.equal(statusText.code, 0, statusText.stderr)
    assert.match(statusText.stdout, /^ready\s+NO$/m)
    assert.match(statusText.stdout, /^not ready: no-admitted-peer\s+no peer has admitted this node yet: check that the 1 bootstrap peer\(s\)/m)
    assert.equal(JSON.parse((await tempus(['status', '--data', eData, '--json'])).stdout).readiness.ready, false)

    // the sentinel starts (its config at log level warn): alone by design, so ready at once
    const sConfig = join(sData, 'config.yaml')
    const config = YAML.parse(await readFile(sConfig, 'utf8'))
    await writeFile(sConfig, YAML.stringify({ ...config, log: { level: 'warn' } }))
    const sentinelSocket = await notifySocket(join(root, 'sentinel.notify'))
    listeners.push(sentinelSocket.child)
    const sentinel = spawnTempus(['start', '--data', sData, '--json'], { ...ENV, NOTIFY_SOCKET: sentinelSocket.path })
    const sentinelLog = stderrLines(sentinel)
    const sentinelApi = JSON.parse(await sentinel.nextLine(l => l.includes('"started"'))).api as string
    const sReady = await sentinelSocket.next(m => fields(m).READY === '1')
    assert.match(fields(sentinelSocket.messages[sReady]!).STATUS ?? '', /alone by design/)

    // the edge is admitted by the sentinel: now, and only now, READY=1
    const eReady = await edgeSocket.next(m => fields(m).READY === '1')
    assert.match(fields(edgeSocket.messages[eReady]!).STATUS ?? '', /^ready: admitted to [1-9]\d* peer\(s\)$/)
    const ready = await fetch(`${edgeApi}/readyz`)
    assert.equal(ready.status, 200)
    const readyBody = await ready.json() as any
    assert.equal(readyBody.ready, true)
    assert.ok(readyBody.admittedPeers >= 1)
    assert.ok(Date.parse(readyBody.tokenExpiresAt) > Date.now())
    assert.match((await tempus(['status', '--data', eData])).stdout, /^ready\s+yes \(admitted to [1-9]\d* peer\(s\)\)$/m)

    // SIGHUP to the sentinel: a new RPC policy and log level from config.yaml, the edge's connection kept
    const peersBefore = JSON.parse((await tempus(['peers', '--data', sData, '--json'])).stdout).peers as any[]
    const edgeBefore = peersBefore.find(p => p.type === 'edge' && p.connected)
    assert.ok(edgeBefore != null && edgeBefore.connectionIds.length > 0, 'the sentinel holds a connection to the edge')
    assert.deepEqual(JSON.parse((await tempus(['rpc', 'permissions', '--data', sData, '--json'])).stdout).rules, [])
    assert.ok(!sentinelLog.lines.some(l => l.level < 40), 'at warn, nothing below warn is logged yet')
    const rules = [{ type: 'edge', allow: ['metrics.read'] }]
    await writeFile(sConfig, YAML.stringify({ ...config, log: { level: 'debug' }, rpc: { ...config.rpc, rules } }))
    const fromReload = sentinelSocket.messages.length
    sentinel.child.kill('SIGHUP')
    const reloaded = await sentinelLog.next(l => l.why === 'SIGHUP' && /configuration reloaded/.test(l.msg))
    assert.equal(reloaded.logLevel, 'debug')
    const reloading = await sentinelSocket.next(m => fields(m).RELOADING === '1', fromReload)
    assert.match(fields(sentinelSocket.messages[reloading]!).MONOTONIC_USEC ?? '', /^\d+$/)
    await sentinelSocket.next(m => fields(m).READY === '1', reloading + 1)
    assert.deepEqual(JSON.parse((await tempus(['rpc', 'permissions', '--data', sData, '--json'])).stdout).rules, rules, 'the new policy is in effect')
    // the child loggers follow the new level too: a debug line from a component
    await sentinelLog.next(l => l.level === 20 && typeof l.component === 'string')
    const health = await fetch(`${sentinelApi}/healthz`)
    assert.equal(health.status, 200, 'still serving')
    const edgeAfter = (JSON.parse((await tempus(['peers', '--data', sData, '--json'])).stdout).peers as any[]).find(p => p.peerId === edgeBefore.peerId)
    assert.equal(edgeAfter?.connected, true)
    assert.ok(edgeBefore.connectionIds.some((id: string) => edgeAfter.connectionIds.includes(id)), 'the same connection, not a new one')
    assert.equal(sentinel.child.exitCode, null)

    // a stop: STOPPING=1, then a clean exit
    const fromStop = edgeSocket.messages.length
    edge.child.kill('SIGTERM')
    await edgeSocket.next(m => fields(m).STOPPING === '1', fromStop)
    assert.equal(await edge.exited, 0)
    for (const proc of [sentinel, issuer]) {
      proc.child.kill('SIGTERM')
      assert.equal(await proc.exited, 0)
    }
    await issuerSocket.next(m => fields(m).STOPPING === '1')
  })

  it('the issuer: SIGHUP (systemctl reload) serves a renewed TLS certificate to new connections, RELOADING=1 then READY=1', async () => {
    const root = await tmp()
    const ENV = { TEMPUS_ISSUER_PASSPHRASE: 'svc-tls' }
    const iData = join(root, 'issuer')
    assert.equal((await tempus(['issuer', 'init', '--data', iData, '--overlay', 'svc-tls', '--threshold', '1'], ENV)).code, 0)
    const first = await selfSigned(root, 'first')
    const second = await selfSigned(root, 'second')
    const cert = join(root, 'tls.crt')
    const key = join(root, 'tls.key')
    await writeFile(cert, await readFile(first.cert))
    await writeFile(key, await readFile(first.key))
    const socket = await notifySocket(join(root, 'issuer.notify'))
    listeners.push(socket.child)
    const issuer = spawnTempus(['issuer', 'start', '--data', iData, '--listen', '127.0.0.1:0', '--cert', cert, '--key', key, '--json'], { ...ENV, NOTIFY_SOCKET: socket.path })
    const url = JSON.parse(await issuer.nextLine(l => l.includes('"started"'))).url as string
    assert.match(url, /^https:/)
    await socket.next(m => fields(m).READY === '1')
    const fingerprint = async (file: string): Promise<string> => new X509Certificate(await readFile(file)).fingerprint256
    assert.equal(await servedFingerprint(url), await fingerprint(first.cert))

    await writeFile(cert, await readFile(second.cert))
    await writeFile(key, await readFile(second.key))
    const from = socket.messages.length
    issuer.child.kill('SIGHUP')
    const reloading = await socket.next(m => fields(m).RELOADING === '1', from)
    await socket.next(m => fields(m).READY === '1', reloading + 1)
    assert.equal(await servedFingerprint(url), await fingerprint(second.cert), 'new connections get the renewed certificate')
    assert.equal(issuer.child.exitCode, null, 'still serving')
    issuer.child.kill('SIGTERM')
    assert.equal(await issuer.exited, 0)
  })
})
