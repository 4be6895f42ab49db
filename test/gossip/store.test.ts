import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { bindAnomaly, deriveAnomalyId } from '../../src/gossip/anomaly-id.ts'
import { GossipError } from '../../src/gossip/errors.ts'
import { AnomalyStore } from '../../src/gossip/store.ts'
import type { BoundAnomaly } from '../../src/gossip/anomaly-id.ts'

const OVERLAY = 'store-test'
const NOW = 1_800_000_000_000

/** The anomalies table as the first release made it (no provenance, no binding). */
const SCHEMA_FIRST = `
CREATE TABLE anomalies (
  id TEXT PRIMARY KEY, origin TEXT NOT NULL, kind TEXT NOT NULL, digest TEXT NOT NULL, severity INTEGER NOT NULL,
  metadata TEXT NOT NULL, timestamp INTEGER NOT NULL, expires INTEGER NOT NULL, received_at INTEGER NOT NULL, frame BLOB NOT NULL
);
CREATE INDEX anomalies_by_time ON anomalies (timestamp, id);
CREATE INDEX anomalies_by_expiry ON anomalies (expires);
`
/** ... and as it was until ids were bound (provenance added). */
const SCHEMA_PROVENANCE = SCHEMA_FIRST.replace('frame BLOB NOT NULL\n', 'frame BLOB NOT NULL, provenance TEXT\n')

async function bound (origin: string, severity = 5): Promise<BoundAnomaly> {
  const content = { kind: 'test', digest: randomBytes(8).toString('hex'), severity, metadata: { rule: 'r' }, timestamp: NOW, expires: NOW + 60_000 }
  return bindAnomaly({ id: deriveAnomalyId(OVERLAY, origin, content), origin, ...content }, OVERLAY)
}

describe('the anomaly store keeps bindings', () => {
  const dirs: string[] = []
  after(async () => { await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true }))) })
  const dbPath = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'tempus-anomaly-store-'))
    dirs.push(dir)
    return join(dir, 'anomalies.db')
  }

  it('the same anomaly twice is held; another binding under a held id is a conflict and stores nothing', async () => {
    const origin = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const store = new AnomalyStore(':memory:')
    const a = await bound(origin)
    const frame = Uint8Array.of(1, 2, 3)
    assert.equal(store.insert(a, frame, NOW), 'new')
    assert.equal(store.insert(a, Uint8Array.of(9), NOW), 'held')
    assert.equal(store.holds(a.id, a.binding), 'same')
    // a second anomaly whose binding shares the id (a 128-bit collision, ground by whoever signed both)
    const collided = { ...(await bound(origin, 0)), id: a.id, binding: a.id + 'ee'.repeat(16) } as BoundAnomaly
    assert.equal(store.holds(a.id, collided.binding), 'conflict')
    assert.equal(store.insert(collided, Uint8Array.of(7), NOW), 'conflict')
    assert.equal(store.list(NOW)[0]?.severity, 5)
    assert.deepEqual(store.frame(a.id), frame)
    // a hand-made "bound" anomaly whose id is not its binding's prefix never gets in
    assert.throws(() => store.insert({ ...a, id: 'ab'.repeat(16) } as BoundAnomaly, frame, NOW), (err: unknown) => err instanceof GossipError && err.reason === 'bad-id')
    store.close()
  })

  for (const [name, schema] of [['the first schema', SCHEMA_FIRST], ['the schema with provenance', SCHEMA_PROVENANCE]] as const) {
    it(`a store of ${name} opens: its rows stay listed, are never served to catch-up, and a bound anomaly under a legacy id replaces the row`, async () => {
      const path = await dbPath()
      const old = new DatabaseSync(path)
      old.exec(schema)
      const insert = old.prepare('INSERT INTO anomalies (id, origin, kind, digest, severity, metadata, timestamp, expires, received_at, frame) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      const origin = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
      const legacyId = randomBytes(16).toString('hex')
      insert.run(legacyId, origin, 'legacy', 'aa', 3, '{}', NOW - 1, NOW + 60_000, NOW, Uint8Array.of(1))
      const fresh = await bound(origin)
      // a legacy row under the very id a bound anomaly has (as a squatter's row would be)
      insert.run(fresh.id, origin, 'squatted', 'bb', 0, '{}', NOW, NOW + 60_000, NOW, Uint8Array.of(2))
      old.close()

      let store = new AnomalyStore(path)
      assert.deepEqual(store.list(NOW).map(a => a.kind).sort(), ['legacy', 'squatted'])
      assert.deepEqual(store.page(NOW, 0, '', 128).frames, [], 'unbound rows are not served')
      assert.equal(store.holds(legacyId, 'ff'.repeat(32)), 'none')
      assert.equal(store.insert(fresh, Uint8Array.of(3), NOW), 'new', 'the bound anomaly takes the legacy row\'s place')
      const other = await bound(origin, 9)
      assert.equal(store.insert(other, Uint8Array.of(4), NOW), 'new')
      assert.deepEqual(store.page(NOW, 0, '', 128).frames.map(f => [...f]).sort(), [[3], [4]])
      store.close()

      // reopened: migrated once, everything still there
      store = new AnomalyStore(path)
      assert.deepEqual(store.list(NOW).map(a => `${a.kind}:${a.severity}`).sort(), ['legacy:3', 'test:5', 'test:9'])
      assert.equal(store.holds(fresh.id, fresh.binding), 'same')
      assert.equal(store.count(NOW), 3)
      store.close()
      const check = new DatabaseSync(path)
      assert.equal((check.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, 1)
      check.close()
    })
  }

  it('an expiry sweep with nothing due touches no table; an earlier anomaly or one found on disk brings it forward', async () => {
    const path = await dbPath()
    const origin = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    let store = new AnomalyStore(path)
    const late = await bound(origin)
    assert.equal(store.insert(late, Uint8Array.of(1), NOW), 'new')
    // another connection holds the write lock: a sweep that wrote would wait out the busy timeout and throw
    const other = new DatabaseSync(path)
    other.exec('BEGIN IMMEDIATE')
    assert.equal(store.expire(NOW + 59_999), 0)
    other.exec('ROLLBACK')
    const content = { kind: 'test', digest: 'ee', severity: 1, metadata: {}, timestamp: NOW, expires: NOW + 1_000 }
    const early = bindAnomaly({ id: deriveAnomalyId(OVERLAY, origin, content), origin, ...content }, OVERLAY)
    assert.equal(store.insert(early, Uint8Array.of(2), NOW), 'new')
    assert.equal(store.expire(NOW + 1_000), 1)
    store.close()
    store = new AnomalyStore(path)
    other.exec('BEGIN IMMEDIATE')
    assert.equal(store.expire(NOW + 59_999), 0)
    other.exec('ROLLBACK')
    other.close()
    assert.equal(store.expire(NOW + 60_000), 1)
    assert.equal(store.count(NOW), 0)
    store.close()
  })

  it('a store of a newer schema is refused, naming the file and what to do', async () => {
    const path = await dbPath()
    const db = new DatabaseSync(path)
    db.exec('PRAGMA user_version = 7')
    db.close()
    assert.throws(() => new AnomalyStore(path), (err: unknown) => err instanceof GossipError && err.message.includes(path) && /upgrade tempus/.test(err.message))
  })
})
