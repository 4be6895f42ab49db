/**
 * Issue #17 item 4: `tempus doctor` checks a stopped node's data directory
 * offline, one line per check; --log-format on the long-running commands;
 * a progress line on key derivation and enrolment.
 */
import assert from 'node:assert/strict'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { killAll, spawnTempus, tempus } from '../fixtures/cli.ts'
import type { AddressInfo } from 'node:net'
import type { LongRunning } from '../fixtures/cli.ts'

const ENV = { TEMPUS_PASSPHRASE: 'doctor-test-passphrase', TEMPUS_ISSUER_PASSPHRASE: 'doctor-test-issuer', TEMPUS_PASSPHRASE_FILE: '', CREDENTIALS_DIRECTORY: '', TEMPUS_PROGRESS_AFTER_MS: '' }

interface Check { check: string, status: 'ok' | 'warn' | 'fail', detail: string }

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen({ host: '127.0.0.1', port: 0 }, resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

async function doctor (data: string, env: NodeJS.ProcessEnv = ENV): Promise<{ code: number, ok: boolean, checks: Check[] }> {
  const res = await tempus(['doctor', '--data', data, '--json'], env)
  assert.equal(res.stderr, '', 'with --json: no progress line, no warning')
  const out = JSON.parse(res.stdout)
  return { code: res.code, ok: out.ok, checks: out.checks }
}

const find = (checks: Check[], name: string): Check[] => checks.filter(c => c.check === name)

describe('tempus doctor, --log-format and progress lines (issue #17 item 4)', () => {
  let root: string
  let iData: string
  let nData: string
  let issuer: LongRunning
  /** the issuer's stderr up to its attestation warning */
  let issuerWarned: Promise<string>
  let issuerUrl: string
  let listenPort: number
  let apiPort: number
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tempus-doctor-'))
    iData = join(root, 'issuer')
    nData = join(root, 'node')
    assert.equal((await tempus(['issuer', 'init', '--data', iData, '--overlay', 'doctor-test', '--threshold', '1'], ENV)).code, 0)
    // pretty log lines for a person at a terminal
    issuer = spawnTempus(['issuer', 'start', '--data', iData, '--listen', '127.0.0.1:0', '--json', '--log-format', 'pretty'], ENV)
    issuerWarned = new Promise(resolve => {
      let seen = ''
      issuer.child.stderr?.on('data', (chunk: Buffer) => { seen += chunk.toString(); if (/attestation.*\n/.test(seen)) resolve(seen) })
    })
    issuerUrl = JSON.parse(await issuer.nextLine(l => l.includes('"started"'))).url
    listenPort = await freePort()
    apiPort = await freePort()
    const init = await tempus(['init', '--data', nData, '--type', 'edge', '--no-mdns', '--listen', `/ip4/127.0.0.1/tcp/${listenPort}`, '--api', `127.0.0.1:${apiPort}`], ENV)
    assert.equal(init.code, 0, init.stderr)
  })
  after(async () => {
    await killAll()
    await rm(root, { recursive: true, force: true })
  })

  it('--log-format pretty writes a line a person reads, not JSON', async () => {
    const line = (await issuerWarned).split('\n').find(l => l.includes('attestation')) ?? ''
    assert.match(line, /^\d\d:\d\d:\d\d\.\d{3} WARN  attestation "none": any holder/)
    assert.ok(!line.startsWith('{'))
  })

  it('a node not yet enrolled: the enrolment fails, every other check passes, exit 1', async () => {
    const { code, ok, checks } = await doctor(nData)
    assert.equal(code, 1)
    assert.equal(ok, false)
    assert.deepEqual(checks.filter(c => c.status === 'fail').map(c => c.check), ['enrolment'])
    assert.match(find(checks, 'enrolment')[0]?.detail ?? '', /tempus enroll --data .* --issuer URL --code CODE .*tempus issuer code --type edge/)
    assert.match(find(checks, 'identity key')[0]?.detail ?? '', /^decrypts: PeerId 12D3KooW/)
    assert.equal(find(checks, 'port').length, 2, 'the listen port and the admin API port')
    assert.ok(find(checks, 'port').every(c => c.status === 'ok'))
  })

  it('an enrolled node: one ok line per check, exit 0, and a progress line on enrolment and scrypt', async () => {
    const code = JSON.parse((await tempus(['issuer', 'code', '--data', iData, '--type', 'edge', '--json'], ENV)).stdout).code
    // a progress line after 0 ms instead of 1 s: every slow step shows one
    const enrolled = await tempus(['enroll', '--data', nData, '--issuer', issuerUrl, '--code', code], { ...ENV, TEMPUS_PROGRESS_AFTER_MS: '0' })
    assert.equal(enrolled.code, 0, enrolled.stderr)
    assert.match(enrolled.stderr, /^tempus: deriving the identity key's decryption key from the passphrase \(scrypt\)…$/m)
    assert.match(enrolled.stderr, /^tempus: enrolling with http:\/\/127\.0\.0\.1:\d+: done in \d+\.\d s$/m)
    const quiet = await tempus(['id', '--data', nData, '--json'], { ...ENV, TEMPUS_PROGRESS_AFTER_MS: '0' })
    assert.equal(quiet.stderr, '', 'no progress line with --json')

    const { code: exit, ok, checks } = await doctor(nData)
    assert.equal(exit, 0, JSON.stringify(checks, null, 1))
    assert.equal(ok, true)
    for (const name of ['data directory', 'file config.yaml', 'file identity.key', 'file enrollment.json', 'config', 'identity key', 'enrolment', 'credential', 'issuer', 'clock', 'port']) {
      assert.ok(find(checks, name).length > 0 && find(checks, name).every(c => c.status === 'ok'), `${name}: ${JSON.stringify(find(checks, name))}`)
    }
    assert.match(find(checks, 'clock')[0]?.detail ?? '', /within 5\.0 s of the issuer's/)

    const text = await tempus(['doctor', '--data', nData], ENV)
    assert.equal(text.code, 0)
    const lines = text.stdout.trimEnd().split('\n')
    assert.equal(lines.length, checks.length, 'one line per check')
    assert.ok(lines.every(l => /^(ok|warn|fail) {2}/.test(l)), text.stdout)
  })

  it('modes, a busy port, a wrong passphrase, an unreachable issuer: each a line saying what to do', async () => {
    await chmod(join(nData, 'config.yaml'), 0o644)
    const busy = createServer()
    await new Promise<void>(resolve => busy.listen({ host: '127.0.0.1', port: listenPort }, resolve))
    try {
      const { code, checks } = await doctor(nData)
      assert.equal(code, 1)
      const mode = find(checks, 'file config.yaml')[0]
      assert.equal(mode?.status, 'warn')
      assert.match(mode?.detail ?? '', /mode 644, readable by others: chmod 600 .*config\.yaml/)
      const port = find(checks, 'port').find(c => c.status === 'fail')
      assert.match(port?.detail ?? '', new RegExp(`127\\.0\\.0\\.1:${listenPort} \\(listen\\): in use: stop what listens there \\(ss -ltnp\\) or change listen in config\\.yaml`))
    } finally {
      busy.close()
      await chmod(join(nData, 'config.yaml'), 0o600)
    }

    const wrong = await doctor(nData, { ...ENV, TEMPUS_PASSPHRASE: '' })
    const key = find(wrong.checks, 'identity key')[0]
    assert.equal(key?.status, 'fail')
    assert.match(key?.detail ?? '', /wrong passphrase.*the public development default was tried/)

    issuer.child.kill('SIGTERM')
    await issuer.exited
    const { code, checks } = await doctor(nData)
    assert.equal(code, 1)
    const down = find(checks, 'issuer')[0]
    assert.equal(down?.status, 'fail')
    assert.match(down?.detail ?? '', /unreachable \(ECONNREFUSED\): is the issuer running/)
    assert.equal(find(checks, 'clock')[0]?.status, 'warn')
  })

  it('a clock two minutes off the issuer\'s (its Date header) fails', async () => {
    // an issuer's /healthz whose clock is two minutes ahead of this host's
    const ahead = createHttpServer((req, res) => {
      res.sendDate = false
      res.setHeader('Date', new Date(Date.now() + 120_000).toUTCString())
      res.end('{"status":"ok"}')
    })
    await new Promise<void>(resolve => ahead.listen(0, '127.0.0.1', resolve))
    const path = join(nData, 'enrollment.json')
    const saved = await readFile(path, 'utf8')
    const enrollment = JSON.parse(saved)
    enrollment.issuerUrl = `http://127.0.0.1:${(ahead.address() as AddressInfo).port}`
    delete enrollment.issuers
    await writeFile(path, JSON.stringify(enrollment), { mode: 0o600 })
    try {
      const { code, checks } = await doctor(nData)
      assert.equal(code, 1)
      const clock = find(checks, 'clock')[0]
      assert.equal(clock?.status, 'fail')
      assert.match(clock?.detail ?? '', /^(119|120|121)\.\d s behind the issuer's: tokens live minutes; synchronise the clock/)
    } finally {
      ahead.close()
      await writeFile(path, saved, { mode: 0o600 })
    }
  })
})
