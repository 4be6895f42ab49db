/**
 * Issue #17 item 5, the CLI findings, tried as a new operator would: every
 * error names what is wrong and what to do, bad input exits 2, and with
 * --json an error is JSON too.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { BIN, killAll, spawnTempus, tempus } from '../fixtures/cli.ts'
import { isSupported, MIN_NODE } from '../../src/cli/runtime-check.ts'
import type { AddressInfo, Server } from 'node:net'

const ENV = { TEMPUS_PASSPHRASE: 'errors-test-passphrase', TEMPUS_ISSUER_PASSPHRASE: 'errors-test-issuer', TEMPUS_PASSPHRASE_FILE: '', TEMPUS_ISSUER_PASSPHRASE_FILE: '', CREDENTIALS_DIRECTORY: '' }
/** a stack trace's frames: none may reach an operator */
const STACK = /^\s+at .*:\d+:\d+\)?$/m
/** the last line of stderr: a progress line may precede the error */
const last = (stderr: string): string => (stderr.trimEnd().split('\n').at(-1) ?? '') + '\n'

async function busyPort (): Promise<{ server: Server, port: number }> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen({ host: '127.0.0.1', port: 0 }, resolve))
  return { server, port: (server.address() as AddressInfo).port }
}


/** stderr without the progress lines a slow step prints (`tempus: ……` and `…: done in N s`) */
const withoutProgress = (stderr: string): string => stderr.split(/(?<=\n)/).filter(l => !/…\n$|: done in [\d.]+ m?s\n$/.test(l)).join('')

describe('CLI errors a person can act on (issue #17 item 5)', () => {
  let root: string
  let iData: string
  const servers: Server[] = []
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tempus-errors-'))
    iData = join(root, 'issuer')
    const init = await tempus(['issuer', 'init', '--data', iData, '--overlay', 'errors-test', '--threshold', '1', '--json'], ENV)
    assert.equal(init.code, 0, init.stderr)
  })
  after(async () => {
    await killAll()
    for (const s of servers) s.close()
    await rm(root, { recursive: true, force: true })
  })

  it('commander\'s parse errors and range errors exit 2', async () => {
    for (const args of [
      ['no-such-command'],
      ['init', '--data', join(root, 'x')],
      ['issuer', 'code', '--data', iData, '--type', 'edge', '--uses', '0'],
      ['issuer', 'code', '--data', iData, '--type', 'edge', '--uses', '10001'],
      ['issuer', 'init', '--data', join(root, 'y'), '--overlay', 'o', '--threshold', '0'],
      ['anomaly', 'publish', '--data', root, '--kind', 'k', '--digest', 'ab', '--severity', '11'],
      ['issuer']
    ]) {
      const res = await tempus(args, ENV)
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
      assert.doesNotMatch(res.stderr, STACK)
    }
    const uses = await tempus(['issuer', 'code', '--data', iData, '--type', 'edge', '--uses', '0'], ENV)
    assert.match(uses.stderr, /--uses.*'0' is invalid\. expected a whole number from 1 to 10000/)
  })

  it('with --json, an error is {"error":{"code","message"}} on stderr and stdout stays empty', async () => {
    const parse = await tempus(['issuer', 'code', '--data', iData, '--type', 'edge', '--uses', '0', '--json'], ENV)
    assert.equal(parse.code, 2)
    assert.equal(parse.stdout, '')
    const e1 = JSON.parse(parse.stderr.trim())
    assert.equal(e1.error.code, 'usage')
    assert.match(e1.error.message, /--uses/)
    const missing = await tempus(['id', '--data', join(root, 'nowhere'), '--json'], ENV)
    assert.equal(missing.code, 1)
    assert.equal(missing.stdout, '')
    const e2 = JSON.parse(missing.stderr.trim())
    assert.equal(typeof e2.error.code, 'string')
    assert.match(e2.error.message, /tempus init --data/)
  })

  it('issuer code takes --type (as init does), --typ stays an alias; issuer admin add --json', async () => {
    const byType = await tempus(['issuer', 'code', '--data', iData, '--type', 'edge', '--json'], ENV)
    assert.equal(byType.code, 0, byType.stderr)
    assert.equal(JSON.parse(byType.stdout).type, 'edge')
    const byTyp = await tempus(['issuer', 'code', '--data', iData, '--typ', 'bridge', '--json'], ENV)
    assert.equal(byTyp.code, 0, byTyp.stderr)
    assert.equal(JSON.parse(byTyp.stdout).type, 'bridge')
    const none = await tempus(['issuer', 'code', '--data', iData], ENV)
    assert.equal(none.code, 2)
    assert.match(none.stderr, /--type edge, bridge or sentinel/)
    const help = await tempus(['issuer', 'code', '--help'])
    assert.match(help.stdout, /--type <type>/)
    assert.doesNotMatch(help.stdout, /--typ </, 'the alias is not documented twice')

    const key = await tempus(['admin', 'keygen', '--out', join(root, 'admin.key'), '--json'], ENV)
    assert.equal(key.code, 0, key.stderr)
    const { publicKey } = JSON.parse(key.stdout)
    const add = await tempus(['issuer', 'admin', 'add', '--data', iData, '--name', 'alice', '--key', publicKey, '--json'], ENV)
    assert.equal(add.code, 0, add.stderr)
    assert.deepEqual(JSON.parse(add.stdout), { added: { name: 'alice', publicKey } })
  })

  it('tempus help issuer code prints that command\'s help', async () => {
    const res = await tempus(['help', 'issuer', 'code'])
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /^Usage: tempus issuer code /)
    assert.match(res.stdout, /--uses <n>/)
    const unknown = await tempus(['help', 'issuer', 'nope'])
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /no command "issuer nope"; the commands are listed by: tempus help issuer/)
  })

  it('--issuer without a scheme says what to write', async () => {
    const res = await tempus(['enroll', '--data', join(root, 'n'), '--issuer', '127.0.0.1:7400', '--code', 'x'], ENV)
    assert.equal(res.code, 2)
    assert.match(res.stderr, /with its scheme: http:\/\/127\.0\.0\.1:7400, or https:\/\/127\.0\.0\.1:7400/)
    assert.doesNotMatch(res.stderr, /ERR_INVALID_URL/)
  })

  it('a port in use and a missing --cert file end in one clear line, exit 2', async () => {
    const { server, port } = await busyPort()
    servers.push(server)
    const busy = await tempus(['issuer', 'start', '--data', iData, '--listen', `127.0.0.1:${port}`, '--log-level', 'silent'], ENV)
    assert.equal(busy.code, 2, busy.stderr)
    // a progress line (scrypt running long on a loaded machine) may come first: the error is one line
    assert.equal(withoutProgress(busy.stderr), `tempus: --listen 127.0.0.1:${port}: the address is already in use (another issuer, or another program: ss -ltnp); stop it or choose another port\n`)
    const cert = await tempus(['issuer', 'start', '--data', iData, '--listen', '127.0.0.1:0', '--cert', join(root, 'missing.pem'), '--key', join(root, 'missing.key')], ENV)
    assert.equal(cert.code, 2)
    assert.equal(withoutProgress(cert.stderr), `tempus: --cert ${join(root, 'missing.pem')}: no such file\n`)

    // a node: its listen address and its admin API's
    const nData = join(root, 'node')
    assert.equal((await tempus(['init', '--data', nData, '--type', 'sentinel', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns'], ENV)).code, 0)
    const issuer = spawnTempus(['issuer', 'start', '--data', iData, '--listen', '127.0.0.1:0', '--json', '--log-level', 'warn'], ENV)
    const url = JSON.parse(await issuer.nextLine(l => l.includes('"started"'))).url as string
    const code = JSON.parse((await tempus(['issuer', 'code', '--data', iData, '--type', 'sentinel', '--json'], ENV)).stdout).code as string
    const enrolled = await tempus(['enroll', '--data', nData, '--issuer', url, '--code', code], ENV)
    assert.equal(enrolled.code, 0, enrolled.stderr)
    const listen = await tempus(['start', '--data', nData, '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--log-level', 'silent'], ENV)
    assert.equal(listen.code, 2, listen.stderr)
    assert.doesNotMatch(listen.stderr, STACK)
    assert.equal(last(listen.stderr), `tempus: cannot listen on /ip4/127.0.0.1/tcp/${port} (address in use): stop what listens there (ss -ltnp), or change --listen or listen in the config file (tcp/0 picks a free port)\n`)
    const api = await tempus(['start', '--data', nData, '--api', `127.0.0.1:${port}`, '--log-level', 'silent', '--json'], ENV)
    assert.equal(api.code, 2, api.stderr)
    assert.equal(JSON.parse(api.stderr).error.code, 'address', 'with --json, stderr is the one JSON error')
    assert.match(JSON.parse(api.stderr).error.message, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`))
  })

  it('the wrong-passphrase message says when the development default was tried', async () => {
    const nData = join(root, 'pp')
    assert.equal((await tempus(['init', '--data', nData, '--type', 'edge', '--no-mdns'], ENV)).code, 0)
    const unset = await tempus(['id', '--data', nData], { ...ENV, TEMPUS_PASSPHRASE: '' })
    assert.equal(unset.code, 1)
    assert.match(unset.stderr, /wrong passphrase.*no passphrase was given \(TEMPUS_PASSPHRASE, TEMPUS_PASSPHRASE_FILE or --passphrase-file\), so the public development default was tried/)
    const wrong = await tempus(['id', '--data', nData], { ...ENV, TEMPUS_PASSPHRASE: 'not-it' })
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /wrong passphrase/)
    assert.doesNotMatch(wrong.stderr, /development default/)
    assert.ok(!wrong.stderr.includes('not-it') && !unset.stderr.includes('NOT-FOR-PRODUCTION'), 'no passphrase in the output')
  })

  it('an older Node.js is told which Node.js is needed, before node:sqlite is imported', async () => {
    const engines = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).engines.node as string
    assert.equal(engines, `>=${MIN_NODE.replace(/\.0$/, '')}`, 'package.json engines and the check agree')
    assert.equal(isSupported('20.20.2'), false)
    assert.equal(isSupported('22.12.9'), false)
    assert.equal(isSupported('22.13.0'), true)
    assert.equal(isSupported(process.versions.node), true)
    const old = '/usr/bin/node'
    const version = existsSync(old) ? await new Promise<string>(resolve => execFile(old, ['--version'], (_e, out) => { resolve(out.trim()) })) : ''
    if (version === '' || isSupported(version)) {
      return // no older Node.js on this host to try
    }
    const res = await new Promise<{ code: number, stderr: string }>(resolve => {
      execFile(old, [BIN, '--help'], (err, _out, stderr) => { resolve({ code: typeof err?.code === 'number' ? err.code : 0, stderr }) })
    })
    assert.equal(res.code, 1)
    assert.match(res.stderr, new RegExp(`needs Node\\.js ${MIN_NODE.replace(/\./g, '\\.')} or newer .*this is Node\\.js ${version.replace(/\./g, '\\.')}`))
    assert.match(res.stderr, /nodejs\.org/)
    assert.doesNotMatch(res.stderr, /ERR_UNKNOWN_BUILTIN_MODULE/)
  })
})
