/**
 * What a `tempus start` process loads: a node process lives for days, and
 * every module it loads stays in its heap; the issuer, the dev mesh, the
 * other commands, the PKCS#11 binding (without a PKCS#11 key) and the admin
 * API's framework (before the API is started) are loaded only by what uses
 * them. The process runs `tempus start` on a data directory without a
 * config file, so it stops right after loading the command, and a loader
 * hook (`--import`) lists every module file it loaded and the size of V8's
 * new space at exit (src/cli/heap-settings.ts).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { BIN } from '../fixtures/cli.ts'

const HOOK = `
import { registerHooks } from 'node:module'
import { writeFileSync } from 'node:fs'
import { getHeapSpaceStatistics } from 'node:v8'
const loaded = []
registerHooks({ load (url, context, next) { loaded.push(url); return next(url, context) } })
process.on('exit', () => {
  const newSpace = getHeapSpaceStatistics().find(s => s.space_name === 'new_space')
  writeFileSync(process.env.LOADED_FILE, JSON.stringify({ loaded, newSpaceBytes: newSpace?.space_size ?? -1 }))
})
`

/** module URLs a process loaded while running `tempus ...args` */
async function loadedBy (dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number, stderr: string, loaded: string[], newSpaceBytes: number }> {
  const hook = join(dir, 'hook.mjs')
  const out = join(dir, `loaded-${args[0] ?? ''}.json`)
  await writeFile(hook, HOOK)
  const { code, stderr } = await new Promise<{ code: number, stderr: string }>(resolve => {
    execFile(process.execPath, ['--import', hook, BIN, ...args], { env: { ...process.env, NODE_OPTIONS: '', ...env, LOADED_FILE: out }, timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ code: err == null ? 0 : (typeof err.code === 'number' ? err.code : 1), stderr })
    })
  })
  return { code, stderr, ...JSON.parse(await readFile(out, 'utf8')) as { loaded: string[], newSpaceBytes: number } }
}

describe('modules a tempus start process loads', () => {
  const dirs: string[] = []
  after(async () => { await Promise.all(dirs.map(async d => await rm(d, { recursive: true, force: true }))) })

  it('the node and its services, not the issuer, the other commands, pg, @peculiar/*, pkcs11js or the admin API', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tempus-start-modules-'))
    dirs.push(dir)
    const { code, stderr, loaded } = await loadedBy(dir, ['start', '--data', join(dir, 'none')])
    // the command ran (and refused the missing config): its module graph is loaded
    assert.notEqual(code, 0)
    assert.match(stderr, /config/)
    assert.ok(loaded.some(u => u.endsWith('/dist/src/node/tempus-node.js')), 'the node module itself was loaded')
    const never = [
      /\/dist\/src\/issuer\//,
      /\/dist\/src\/cli\/commands\/(?!start\.js)/,
      /\/dist\/src\/cli\/dev-mesh\.js/,
      /\/dist\/src\/api\//,
      /\/node_modules\/pg\//,
      /\/node_modules\/@peculiar\//,
      /\/node_modules\/pkcs11js\//,
      /\/node_modules\/fastify\//
    ]
    for (const pattern of never) {
      const hits = loaded.filter(u => pattern.test(u))
      assert.deepEqual(hits, [], `tempus start loaded ${hits.length} module(s) matching ${String(pattern)}`)
    }
  })

  it('its young generation stays small while it loads (V8 would let it grow to 64 MB), unless the operator sets it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tempus-start-modules-'))
    dirs.push(dir)
    const { newSpaceBytes } = await loadedBy(dir, ['start', '--data', join(dir, 'none')])
    assert.ok(newSpaceBytes > 0 && newSpaceBytes <= 4 * 2 ** 20, `new space ${newSpaceBytes} bytes`)
    const own = await loadedBy(dir, ['start', '--data', join(dir, 'none')], { NODE_OPTIONS: '--max-semi-space-size=32' })
    assert.ok(own.newSpaceBytes > 4 * 2 ** 20, `the operator's flag wins: new space ${own.newSpaceBytes} bytes`)
  })

  it('a command that needs the issuer still loads it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tempus-start-modules-'))
    dirs.push(dir)
    const { loaded } = await loadedBy(dir, ['issuer', 'code', '--data', join(dir, 'none'), '--type', 'edge'])
    assert.ok(loaded.some(u => /\/dist\/src\/cli\/commands\/issuer\.js$/.test(u)))
  })
})
