/**
 * Issue #13 items 9, 10 (the lock) and 13 (file modes) through the real
 * `tempus` CLI, as an operator meets them: every file a node and an issuer
 * keep is 0600 in 0700 directories; a second start on a directory in use
 * fails at once naming the pid; kill -9 leaves a stale lock that the next
 * start takes over; a store lost while the node was down stops the start,
 * naming the file and `--reset-store`.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, stat, truncate, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { killAll, spawnTempus, tempus } from '../fixtures/cli.ts'
import type { LongRunning } from '../fixtures/cli.ts'

const ENV = { TEMPUS_PASSPHRASE: 'storage-cli-test', TEMPUS_ISSUER_PASSPHRASE: 'storage-cli-issuer' }

/** every file and directory under `root`, with its mode (bounded by the tree itself) */
async function walk (root: string): Promise<Array<{ path: string, dir: boolean, mode: number }>> {
  const out: Array<{ path: string, dir: boolean, mode: number }> = []
  const visit = async (path: string): Promise<void> => {
    const s = await stat(path)
    out.push({ path, dir: s.isDirectory(), mode: s.mode & 0o777 })
    if (s.isDirectory()) {
      for (const name of await readdir(path)) {
        await visit(join(path, name))
      }
    }
  }
  await visit(root)
  return out
}

function assertPrivate (entries: Array<{ path: string, dir: boolean, mode: number }>): void {
  const open = entries.filter(e => e.mode !== (e.dir ? 0o700 : 0o600)).map(e => `${e.path} ${e.mode.toString(8)}`)
  assert.deepEqual(open, [], 'every file 0600, every directory 0700')
}

describe('data directories through the tempus CLI', () => {
  const dirs: string[] = []
  after(async () => {
    await killAll()
    await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true })))
  })

  it('owner-only files, one process per directory, kill -9 recovered, a lost store refused and reset', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tempus-storage-cli-'))
    dirs.push(root)
    const iData = join(root, 'issuer')
    const nData = join(root, 'node')
    assert.equal((await tempus(['issuer', 'init', '--data', iData, '--overlay', 'storage-test', '--threshold', '1'], ENV)).code, 0)
    const issuer = spawnTempus(['issuer', 'start', '--data', iData, '--listen', '127.0.0.1:0', '--json'], ENV)
    const issuerUrl = JSON.parse(await issuer.nextLine(l => l.includes('"started"'))).url as string

    const code = await tempus(['issuer', 'code', '--data', iData, '--typ', 'edge', '--json'], ENV)
    assert.equal(code.code, 0, code.stderr)
    assert.equal((await tempus(['init', '--data', nData, '--type', 'edge', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns'], ENV)).code, 0)
    const enrolled = await tempus(['enroll', '--data', nData, '--issuer', issuerUrl, '--code', JSON.parse(code.stdout).code], ENV)
    assert.equal(enrolled.code, 0, enrolled.stderr)

    const start = (extra: string[] = []): LongRunning => spawnTempus(['start', '--data', nData, '--json', '--log-level', 'warn', ...extra], ENV)
    let node = start()
    await node.nextLine(l => l.includes('"started"'))

    // item 13: state and keys are the owner's only, SQLite's -wal/-shm and the datastore included
    const nodeFiles = await walk(nData)
    for (const f of ['bundles.db', 'bundles.db-wal', 'bundles.db-shm', 'anomalies.db', 'identity.key', 'api-token', 'node.json', 'datastore']) {
      assert.ok(nodeFiles.some(e => e.path === join(nData, f)), `${f} exists`)
    }
    assertPrivate(nodeFiles)
    for (const f of ['LOCK', 'stores.json']) {
      assert.ok(nodeFiles.some(e => e.path === join(nData, f)), `${f} exists`)
    }
    const issuerFiles = await walk(iData)
    assert.ok(issuerFiles.some(e => e.path === join(iData, 'issuer.db')))
    assertPrivate(issuerFiles)

    // item 10: a second issuer on the same directory is refused at once, naming the first
    const twinIssuer = await tempus(['issuer', 'start', '--data', iData, '--listen', '127.0.0.1:0'], ENV)
    assert.equal(twinIssuer.code, 1, twinIssuer.stderr)
    assert.match(twinIssuer.stderr, new RegExp(`data directory ${iData} is in use by pid ${issuer.child.pid} \\(started [^)]+\\); stop it first`))

    // item 10: a second start on a directory in use fails at once, naming the pid
    const twin = await tempus(['start', '--data', nData], ENV)
    assert.equal(twin.code, 1, twin.stderr)
    assert.match(twin.stderr, new RegExp(`data directory ${nData} is in use by pid ${node.child.pid} \\(started [^)]+\\); stop it first`))

    // kill -9 leaves a stale lock: the next start takes it over, with a warning and an audit line
    node.child.kill('SIGKILL')
    await node.exited
    const lock = JSON.parse(await readFile(join(nData, 'LOCK'), 'utf8'))
    assert.equal(lock.pid, node.child.pid, 'the killed process left its lock')
    node = start()
    await node.nextLine(l => l.includes('"started"'))
    const events = await readFile(join(nData, 'events.log'), 'utf8')
    assert.match(events, new RegExp(`"event":"stale-lock-taken-over".*"pid":${lock.pid}`))

    // item 9: a store emptied while the node was down stops the start, naming the file and the choice
    node.child.kill('SIGKILL')
    await node.exited
    const bundles = join(nData, 'bundles.db')
    await truncate(bundles, 0)
    await unlink(`${bundles}-wal`).catch(() => {})
    await unlink(`${bundles}-shm`).catch(() => {})
    const refused = await tempus(['start', '--data', nData], ENV)
    assert.equal(refused.code, 1, refused.stderr)
    assert.ok(refused.stderr.includes(`${bundles} was truncated to 0 bytes`), refused.stderr)
    assert.ok(refused.stderr.includes(`tempus start --data ${nData} --reset-store bundles`), refused.stderr)
    assert.ok(!refused.stderr.includes('unexpected error'), refused.stderr)
    assert.equal((await stat(bundles)).size, 0, 'nothing recreated')

    node = start(['--reset-store', 'bundles'])
    await node.nextLine(l => l.includes('"started"'))
    assert.ok((await readdir(nData)).some(f => /^bundles\.db\.damaged-/.test(f)), 'the damaged file is kept aside')
    assert.match(await readFile(join(nData, 'events.log'), 'utf8'), /"event":"store-reset".*"store":"bundles"/)
    assertPrivate(await walk(nData))
    node.child.kill('SIGTERM')
    assert.equal(await node.exited, 0)
    await assert.rejects(stat(join(nData, 'LOCK')), { code: 'ENOENT' }, 'a clean stop releases the lock')

    // the issuer's database vanished: refused, never recreated (its root key was in it)
    issuer.child.kill('SIGKILL')
    await issuer.exited
    const issuerDb = join(iData, 'issuer.db')
    for (const suffix of ['', '-wal', '-shm']) {
      await unlink(issuerDb + suffix).catch(() => {})
    }
    const lost = await tempus(['issuer', 'start', '--data', iData, '--listen', '127.0.0.1:0'], ENV)
    assert.equal(lost.code, 1, lost.stderr)
    assert.ok(lost.stderr.includes(`${issuerDb} is gone`), lost.stderr)
    assert.match(lost.stderr, /from a backup/)
    await assert.rejects(stat(issuerDb), { code: 'ENOENT' }, 'no empty issuer.db was created')
  })
})
