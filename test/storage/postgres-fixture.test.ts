/**
 * The PostgreSQL fixture itself: a real cluster comes up (as an unprivileged
 * user when the tests run as root), takes queries, gives one database per
 * test, keeps a committed row across a SIGKILL and a restart (fsync on), and
 * leaves nothing behind when stopped.
 */
import assert from 'node:assert/strict'
import { existsSync, statSync } from 'node:fs'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { startPostgres } from '../fixtures/postgres.ts'
import type { PostgresCluster } from '../fixtures/postgres.ts'

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
})
