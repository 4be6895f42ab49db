/**
 * The PostgreSQL fixture itself: a real cluster comes up (as an unprivileged
 * user when the tests run as root), takes queries, gives one database per
 * test, keeps a committed row across a SIGKILL and a restart (fsync on), and
 * leaves nothing behind when stopped.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { startPostgres } from '../fixtures/postgres.ts'
import type { PostgresCluster } from '../fixtures/postgres.ts'
import { eventually } from '../fixtures/wait.ts'

describe('PostgreSQL test fixture', () => {
  const clusters: PostgresCluster[] = []
  after(async () => { await Promise.all(clusters.map(async c => c.stop())) })

  const withClient = async <T>(url: string, f: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      return await f(client)
    } finally {
      await client.end()
    }
  }

  it('starts a cluster, creates databases, keeps a committed row across kill -9, and removes itself', async () => {
    const pgc = await startPostgres()
    clusters.push(pgc)
    assert.match(pgc.url, /^postgres:\/\/tempus:[^@]+@127\.0\.0\.1:\d+\/tempus$/)

    const who = await withClient(pgc.url, async c => (await c.query('SELECT current_user AS u, current_database() AS d, current_setting(\'fsync\') AS f')).rows[0])
    assert.deepEqual(who, { u: 'tempus', d: 'tempus', f: 'on' })

    if (process.getuid?.() === 0) {
      // PostgreSQL refuses root: the server and its data belong to someone else
      assert.notEqual(statSync(pgc.dir).uid, 0)
      assert.notEqual(statSync(`/proc/${pgc.process.pid}`).uid, 0)
    }

    // the password is required on TCP
    await assert.rejects(withClient(pgc.url.replace(/:[^:@]+@/, ':wrong@'), async () => {}), { code: '28P01' })

    const other = await pgc.createDatabase('contract_one')
    assert.equal(await withClient(other, async c => (await c.query('SELECT current_database() AS d')).rows[0].d), 'contract_one')
    await assert.rejects(pgc.createDatabase('x; DROP DATABASE tempus'), { name: 'TypeError' })

    await withClient(other, async c => {
      await c.query('CREATE TABLE acked (id int PRIMARY KEY, v text NOT NULL)')
      await c.query("INSERT INTO acked VALUES (1, 'committed')")
    })

    const pid = pgc.process.pid
    await pgc.kill()
    assert.equal(pgc.process.signalCode, 'SIGKILL')
    await pgc.restart()
    assert.notEqual(pgc.process.pid, pid)
    const rows = await withClient(other, async c => (await c.query('SELECT id, v FROM acked')).rows)
    assert.deepEqual(rows, [{ id: 1, v: 'committed' }])

    await pgc.stop()
    assert.equal(existsSync(pgc.dir), false)
    assert.ok(pgc.process.exitCode != null || pgc.process.signalCode != null)
  })

  it('a test process that exits without stop() leaves no server and no directory behind', async () => {
    const fixture = fileURLToPath(new URL('../fixtures/postgres.js', import.meta.url))
    const script = `import { startPostgres } from ${JSON.stringify(fixture)}
const c = await startPostgres()
process.stdout.write(JSON.stringify({ dir: c.dir, pid: c.process.pid }) + '\\n')
process.exit(1)`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (b: Buffer) => { out += b.toString() })
    const code = await new Promise(resolve => child.once('exit', resolve))
    assert.equal(code, 1)
    const { dir, pid } = JSON.parse(out)
    assert.equal(existsSync(dir), false)
    // SIGKILL was sent to the whole process group on exit; death is asynchronous, so await it (bounded)
    await eventually(() => {
      try { process.kill(pid, 0) } catch (err: any) { return err.code === 'ESRCH' }
      return isZombie(pid) // dead, waiting for an init that reaps it
    }, `postgres pid ${pid} to be gone`)
  })
})

/** a process that has exited but not been reaped (state Z in /proc/PID/stat) */
function isZombie (pid: number): boolean {
  try { return /^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { return true }
}
