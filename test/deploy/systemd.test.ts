/**
 * The systemd units in deploy/systemd/, checked by systemd itself:
 * `systemd-analyze verify` must pass with no warning at all (it exits 0 on
 * an unknown key or a bad value and only prints it, so any output fails the
 * check), and `systemd-analyze security --offline` must rate them well.
 * Verify insists that ExecStart names an existing executable: each unit is
 * copied to a temporary directory with /usr/local/bin/tempus (where the
 * README installs it) rewritten to a wrapper there that runs this
 * repository's built CLI. Deliberately broken copies must fail the same
 * check, so it cannot pass vacuously.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { BIN } from '../fixtures/cli.ts'

const UNITS = fileURLToPath(new URL('../../../deploy/systemd/', import.meta.url))
const ANALYZE = '/usr/bin/systemd-analyze'
const INSTALLED_CLI = '/usr/local/bin/tempus'

interface Run { code: number, output: string }

async function run (file: string, args: string[]): Promise<Run> {
  return await new Promise(resolve => {
    execFile(file, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err == null ? 0 : (typeof err.code === 'number' ? err.code : 1), output: `${stdout}${stderr}`.trim() })
    })
  })
}

describe('systemd units (deploy/systemd)', () => {
  let dir = ''
  let cli = ''
  /** a unit from deploy/systemd/, its ExecStart pointed at this repository's CLI, written to the temp dir */
  const staged = async (name: string, edit: (text: string) => string = t => t): Promise<string> => {
    const text = await readFile(join(UNITS, name), 'utf8')
    assert.ok(text.includes(`ExecStart=${INSTALLED_CLI} `), `${name} runs ${INSTALLED_CLI}, where the README installs it`)
    const path = join(dir, name)
    await writeFile(path, edit(text.replaceAll(INSTALLED_CLI, cli)))
    return path
  }
  const verify = async (path: string): Promise<Run> => await run(ANALYZE, ['verify', path])

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tempus-units-'))
    cli = join(dir, 'tempus')
    await writeFile(cli, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`)
    await chmod(cli, 0o755)
    const version = await run(ANALYZE, ['--version'])
    assert.equal(version.code, 0, `${ANALYZE} is needed (Debian's systemd package; .ci/run installs it): ${version.output}`)
  })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  for (const name of ['tempus-node.service', 'tempus-issuer.service']) {
    it(`${name}: systemd-analyze verify passes without a warning`, async () => {
      const result = await verify(await staged(name))
      assert.equal(result.code, 0, result.output)
      assert.equal(result.output, '', 'no warning either')
    })

    it(`${name}: hardened, rated at most 2.0 by systemd-analyze security`, async () => {
      const text = await readFile(join(UNITS, name), 'utf8')
      for (const line of ['Type=notify', 'NotifyAccess=all', 'DynamicUser=yes', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'PrivateTmp=yes', 'ProtectHome=yes', 'CapabilityBoundingSet=\n', 'SystemCallFilter=@system-service', 'Restart=on-failure', 'ExecReload=/bin/kill -HUP $MAINPID']) {
        assert.ok(text.includes(`\n${line}`), `${name} has ${line.trim()}`)
      }
      assert.match(text, /^StateDirectory=tempus-(node|issuer)$/m)
      assert.match(text, /^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6/m)
      assert.match(text, /^LoadCredential=tempus-(issuer-)?passphrase:\/etc\/credstore\//m)
      assert.doesNotMatch(text, /^MemoryDenyWriteExecute=/m, 'V8\'s JIT needs writable-then-executable pages')
      const security = await run(ANALYZE, ['security', '--offline=true', '--threshold=20', await staged(name)])
      assert.equal(security.code, 0, security.output)
      assert.match(security.output, /Overall exposure level for tempus-[a-z]+\.service: [0-1]\.\d|Overall exposure level for tempus-[a-z]+\.service: 2\.0/)
    })
  }

  it('fails a deliberately broken unit: a misspelt key, a bad value, a missing program', async () => {
    const typo = await verify(await staged('tempus-node.service', t => t.replace('\nType=notify', '\nTpye=notify')))
    assert.match(typo.output, /Unknown key 'Tpye'/, 'verify names the unknown key')
    const badValue = await verify(await staged('tempus-node.service', t => t.replace('ProtectSystem=strict', 'ProtectSystem=strictest')))
    assert.match(badValue.output, /strictest/, 'verify names the bad value')
    const missing = await verify(await staged('tempus-issuer.service', t => t.replace(`ExecStart=${cli}`, 'ExecStart=/nonexistent/tempus')))
    assert.notEqual(missing.code, 0, missing.output)
    assert.match(missing.output, /\/nonexistent\/tempus/)
  })
})
