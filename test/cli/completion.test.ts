/**
 * Issue #17 item 6: `tempus completion bash|zsh` made from commander's
 * command tree (completed here by a real bash), and `tempus version` with
 * build information.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { tempus } from '../fixtures/cli.ts'
import { buildProgram } from '../../src/cli/program.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

async function run (file: string, args: string[], cwd = ROOT): Promise<{ code: number, stdout: string, stderr: string, missing: boolean }> {
  return new Promise(resolve => {
    execFile(file, args, { cwd }, (err, stdout, stderr) => { resolve({ code: err == null ? 0 : (typeof err.code === 'number' ? err.code : 1), stdout, stderr, missing: err?.code === 'ENOENT' }) })
  })
}

describe('tempus completion and tempus version (issue #17 item 6)', () => {
  let dir: string
  let script: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tempus-completion-'))
    const res = await tempus(['completion', 'bash'])
    assert.equal(res.code, 0, res.stderr)
    script = join(dir, 'tempus.bash')
    await writeFile(script, res.stdout)
  })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  /** what bash offers after `words` (the last one is the word being completed) */
  async function complete (...words: string[]): Promise<string[]> {
    const line = ['tempus', ...words].map(w => `'${w}'`).join(' ')
    const res = await run('bash', ['-c', `source '${script}'; COMP_WORDS=(${line}); COMP_CWORD=${words.length}; _tempus; printf '%s\\n' "\${COMPREPLY[@]}"`])
    assert.equal(res.code, 0, res.stderr)
    return res.stdout.split('\n').filter(l => l !== '')
  }

  it('bash completes commands, subcommands, options and choices from the command tree', async () => {
    const top = buildProgram().commands.map(c => c.name())
    assert.deepEqual((await complete('')).sort(), [...top].sort(), 'every command, none made up')
    assert.ok(top.includes('doctor') && top.includes('version') && top.includes('completion'))
    assert.deepEqual(await complete('issuer', 'co'), ['code'])
    assert.deepEqual(await complete('issuer', 'admin', ''), ['add'])
    assert.deepEqual(await complete('issuer', 'code', '--t'), ['--type'], 'the hidden alias --typ is not offered')
    assert.deepEqual(await complete('issuer', 'code', '--data', '/tmp/i', '--type', ''), ['edge', 'bridge', 'sentinel'])
    assert.deepEqual(await complete('start', '--log-format', ''), ['json', 'pretty'])
    assert.deepEqual(await complete('start', '--data', ''), [], 'a value: bash falls back to file names')
    assert.deepEqual(await complete('completion', ''), ['bash', 'zsh'])
    assert.ok((await complete('doctor', '--')).includes('--passphrase-file'))
  })

  it('zsh gets a #compdef script from the same tree; an unknown shell is bad input', async () => {
    const res = await tempus(['completion', 'zsh'])
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /^#compdef tempus\n/)
    assert.match(res.stdout, /'issuer code\|--type'\) echo 'edge bridge sentinel'/)
    assert.match(res.stdout, /compdef _tempus tempus/)
    // zsh's own syntax check, where zsh is installed
    const zsh = await run('zsh', ['-n', '-c', res.stdout])
    if (!zsh.missing) {
      assert.equal(zsh.code, 0, zsh.stderr)
    }
    const fish = await tempus(['completion', 'fish'])
    assert.equal(fish.code, 2)
    assert.match(fish.stderr, /Allowed choices are bash, zsh/)
  })

  it('tempus version: the package version, the git commit it was built from, the Node.js that runs it', async () => {
    // what npm run build does after tsc
    const built = await run(process.execPath, [join(ROOT, 'dist/scripts/build-info.js')])
    assert.equal(built.code, 0, built.stderr)
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
    const head = (await run('git', ['rev-parse', 'HEAD'])).stdout.trim()
    const res = await tempus(['version', '--json'])
    assert.equal(res.code, 0, res.stderr)
    const v = JSON.parse(res.stdout)
    assert.equal(v.version, pkg.version)
    assert.equal(v.node, process.version)
    if (/^[0-9a-f]{40}$/.test(head)) {
      assert.equal(v.commit, head)
      assert.equal(typeof v.dirty, 'boolean')
    }
    assert.ok(Date.parse(v.builtAt) > 0)
    const text = await tempus(['version'])
    assert.match(text.stdout, new RegExp(`^tempus ${pkg.version.replace(/\./g, '\\.')}\\ncommit   \\S+.*\\nbuilt    .*\\nnode     ${process.version.replace(/\./g, '\\.')} `))
  })
})
