/**
 * Three `tempus issuer start` processes on one PostgreSQL database (a real
 * cluster, started by the fixture), every request spread over them, and
 * the issuer's invariants checked across the three: a code's uses counted
 * exactly, one current signing epoch, revocation-list numbers with no fork
 * and approvals counted together, one linear audit log with mutually
 * consistent checkpoints, and what a replica acknowledged kept when it is
 * killed with SIGKILL right after.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import pg from 'pg'
import { DOMAINS } from '../../src/core/domains.ts'
import { generateEd25519, publicKeyFromRawBytes, rawPublicKey, signDomain } from '../../src/core/keys.ts'
import { TokenVerifier } from '../../src/admission/verifier.ts'
import { checkpointsConsistent } from '../../src/issuer/audit-log.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { killAll, spawnTempus, tempus } from '../fixtures/cli.ts'
import { startPostgres } from '../fixtures/postgres.ts'
import type { Checkpoint } from '../../src/issuer/audit-log.ts'
import type { IssuerClientError } from '../../src/issuer-client/client.ts'
import type { LongRunning } from '../fixtures/cli.ts'
import type { PostgresCluster } from '../fixtures/postgres.ts'
import type { PrivateKey } from '@libp2p/interface'

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

interface Replica { dir: string, process: LongRunning, url: string, client: IssuerClient }

describe('issuer replicas: three processes on one PostgreSQL database', () => {
  let cluster: PostgresCluster
  let store: string
  /** for the test's own queries only */
  let withPassword: string
  let env: NodeJS.ProcessEnv
  let root: string
  const replicas: Replica[] = []
  const dirs: string[] = []

  const cli = async (args: string[], json = true): Promise<any> => {
    const r = await tempus([...args, '--store', store, ...(json ? ['--json'] : [])], env)
    assert.equal(r.code, 0, `tempus ${args.join(' ')}: ${r.stderr}`)
    return json ? JSON.parse(r.stdout.trim().split('\n').pop() as string) : r.stdout
  }
  const startReplica = async (dir: string, listen = '127.0.0.1:0'): Promise<Replica> => {
    const process = spawnTempus(['issuer', 'start', '--data', dir, '--store', store, '--listen', listen, '--json'], env)
    const started = JSON.parse(await process.nextLine(l => l.includes('"started"'), 60_000))
    return { dir, process, url: started.url, client: new IssuerClient({ url: started.url }) }
  }
  const at = (i: number): Replica => replicas[i % replicas.length] as Replica
  const enroll = async (code: string, i = 0): Promise<{ key: PrivateKey, credential: string, peerId: string }> => {
    const key = await generateKeyPair('Ed25519')
    const e = await at(i).client.enroll(key, code)
    return { key, credential: e.credential, peerId: e.peerId }
  }
  const sql = async <T>(text: string): Promise<T[]> => {
    const client = new pg.Client({ connectionString: withPassword })
    await client.connect()
    try {
      return (await client.query(text)).rows as T[]
    } finally {
      await client.end()
    }
  }

  before(async () => {
    cluster = await startPostgres()
    withPassword = await cluster.createDatabase('replicas')
    // the password travels as PostgreSQL's own clients take it, never in a flag or a file of ours
    const u = new URL(withPassword)
    u.password = ''
    store = u.toString()
    env = { PGPASSWORD: cluster.password, TEMPUS_ISSUER_PASSPHRASE: 'replica-test-passphrase' }
    for (let i = 0; i < 3; i++) {
      dirs.push(await mkdtemp(join(tmpdir(), `tempus-replica-${i}-`)))
    }
    const init = await cli(['issuer', 'init', '--data', dirs[0] as string, '--overlay', 'replicated', '--threshold', '2'])
    root = init.rootPublicKey
    assert.ok(!JSON.stringify(init).includes(cluster.password), 'the password is never printed')
    for (const dir of dirs) {
      replicas.push(await startReplica(dir))
    }
  })
  after(async () => {
    await killAll()
    await cluster?.stop()
    await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
  })

  it('100 concurrent enrolments with a one-use code over 3 replicas: exactly 1 succeeds', async () => {
    const { code } = await cli(['issuer', 'code', '--data', dirs[1] as string, '--typ', 'edge', '--uses', '1'])
    const results = await Promise.allSettled(Array.from({ length: 100 }, async (_, i) => await enroll(code, i)))
    assert.equal(results.filter(r => r.status === 'fulfilled').length, 1)
    for (const r of results) {
      if (r.status === 'rejected') assert.equal((r.reason as IssuerClientError).code, 'invalid-code')
    }
    const uses = await sql<{ uses_left: number }>('SELECT uses_left FROM codes')
    assert.deepEqual(uses.map(u => Number(u.uses_left)), [0])
  })

  it('after rotate-key --activate returns, no replica hands out a token of the old epoch', async () => {
    const { code } = await cli(['issuer', 'code', '--data', dirs[0] as string, '--typ', 'sentinel', '--uses', '6'])
    const members = await Promise.all(Array.from({ length: 6 }, async (_, i) => await enroll(code, i)))
    const verifier = new TokenVerifier({ overlay: 'replicated', issuer: 'issuer.replicated', root: publicKeyFromRawBytes(new Uint8Array(Buffer.from(root, 'base64url'))) })
    await verifier.setCurrent((await at(0).client.keys()).current)
    const before = (await cli(['issuer', 'rotate-key', '--data', dirs[2] as string, '--announce'])).announced.epoch
    let activated = false
    const afterActivation: string[] = []
    let duringRotation = 0
    // tokens requested from every replica while another process activates the key
    const load = (async () => {
      // until the activation is acknowledged, then two rounds more (bounded:
      // 100 rounds stay within each replica's per-peer budget of 60 a minute)
      let after = 0
      for (let round = 0; round < 100 && after < 2; round++) {
        const startedAfter = activated
        if (startedAfter) after++
        const tokens = await Promise.all(members.map(async (m, i) => await at(i + round).client.token(m.key, m.credential)))
        duringRotation += tokens.length
        if (startedAfter) afterActivation.push(...tokens.map(t => t.token))
      }
    })()
    await cli(['issuer', 'rotate-key', '--data', dirs[1] as string, '--activate'])
    activated = true
    await load
    // and a round that surely starts after, on every replica
    for (let i = 0; i < 3; i++) {
      afterActivation.push((await at(i).client.token((members[i] as typeof members[0]).key, (members[i] as typeof members[0]).credential)).token)
    }
    const keys = await at(0).client.keys()
    assert.equal(keys.epoch, before)
    await verifier.setCurrent(keys.current)
    for (const token of afterActivation) {
      assert.equal((await verifier.verify(token)).ep, before, 'a token requested after the activation is of the new epoch')
    }
    assert.ok(duringRotation >= 48)
    const epochs = await sql<{ state: string, n: number }>('SELECT state, COUNT(*) AS n FROM signing_keys GROUP BY state ORDER BY state')
    assert.deepEqual(epochs.map(e => [e.state, Number(e.n)]), [['current', 1], ['retired', 1]])
  })

  it('approvals gathered on different replicas count together; revocation-list numbers strictly increase with no fork', async () => {
    const admins = [generateEd25519(), generateEd25519()]
    for (const [i, admin] of admins.entries()) {
      await cli(['issuer', 'admin', 'add', '--data', dirs[i] as string, '--name', `admin-${i}`, '--key', b64(rawPublicKey(admin.publicKey))], false)
    }
    const { code } = await cli(['issuer', 'code', '--data', dirs[0] as string, '--typ', 'edge', '--uses', '4'])
    const victims = await Promise.all(Array.from({ length: 4 }, async (_, i) => await enroll(code, i)))
    const requests = await Promise.all(victims.map(async v => await cli(['issuer', 'revoke', v.peerId, '--data', dirs[2] as string, '--reason', 'replica test'])))
    const before = (await at(0).client.revocationList())?.n as number
    const approve = async (replica: Replica, admin: typeof admins[0], request: any): Promise<number> => (await fetch(`${replica.url}/v1/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request: request.id, adminKey: b64(rawPublicKey(admin.publicKey)), signature: b64(signDomain(admin.privateKey, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))) })
    })).status
    // every request: one admin on one replica, the other on another, all at once
    const statuses = await Promise.all(requests.flatMap((r, i) => [approve(at(i), admins[0] as typeof admins[0], r), approve(at(i + 1), admins[1] as typeof admins[0], r)]))
    assert.deepEqual(statuses, statuses.map(() => 200))
    const lists = await Promise.all(replicas.map(async r => await r.client.revocationList()))
    assert.deepEqual(lists.map(l => l?.n), [before + 4, before + 4, before + 4], 'every replica serves the same newest list')
    const numbers = (await sql<{ n: number }>('SELECT n FROM crls ORDER BY n')).map(r => Number(r.n))
    assert.deepEqual(numbers, Array.from({ length: numbers.length }, (_, i) => i + 1))
    for (const [i, v] of victims.entries()) {
      await assert.rejects(at(i + 2).client.token(v.key, v.credential), (e: IssuerClientError) => e.code === 'revoked')
    }
  })

  it('the audit log is one linear sequence: each replica\'s checkpoint is consistent with every other\'s, and the whole log verifies', async () => {
    const { code } = await cli(['issuer', 'code', '--data', dirs[0] as string, '--typ', 'edge', '--uses', '3'])
    const members = await Promise.all(Array.from({ length: 3 }, async (_, i) => await enroll(code, i)))
    const checkpoints: Checkpoint[] = []
    for (let round = 0; round < 3; round++) {
      await Promise.all(members.map(async (m, i) => await at(i + round).client.token(m.key, m.credential)))
      for (const r of replicas) {
        checkpoints.push(await (await fetch(`${r.url}/v1/audit/checkpoint`)).json() as Checkpoint)
      }
    }
    checkpoints.sort((a, b) => a.size - b.size)
    const rootKey = publicKeyFromRawBytes(new Uint8Array(Buffer.from(root, 'base64url')))
    for (let i = 0; i < checkpoints.length; i++) {
      for (let j = i + 1; j < checkpoints.length; j++) {
        const a = checkpoints[i] as Checkpoint
        const b = checkpoints[j] as Checkpoint
        if (a.size === b.size) {
          assert.equal(a.root, b.root, `two checkpoints of size ${a.size} with different roots: a fork`)
          continue
        }
        const proof = await (await fetch(`${at(i + j).url}/v1/audit/consistency?from=${a.size}&to=${b.size}`)).json() as { proof: string[] }
        assert.ok(checkpointsConsistent(a, b, proof.proof, rootKey), `checkpoint ${a.size} → ${b.size}`)
      }
    }
    const dup = await sql<{ n: number }>('SELECT COUNT(*) - COUNT(DISTINCT idx) AS n FROM audit')
    assert.equal(Number(dup[0]?.n), 0)
    const gaps = await sql<{ max: number, n: number }>('SELECT MAX(idx) AS max, COUNT(*) AS n FROM audit')
    assert.equal(Number(gaps[0]?.max) + 1, Number(gaps[0]?.n), 'indexes 0..n-1 with no gap')
    const verified = await cli(['issuer', 'audit', 'verify', '--data', dirs[2] as string])
    assert.equal(verified.ok, true, JSON.stringify(verified.problems))
  })

  it('an enrolment and a revocation acknowledged by a replica survive its SIGKILL right after the answer', async () => {
    const victim = replicas[0] as Replica
    const { code } = await cli(['issuer', 'code', '--data', dirs[1] as string, '--typ', 'bridge', '--uses', '1'])
    const member = await enroll(code, 0)
    victim.process.child.kill('SIGKILL')
    await victim.process.exited
    // another replica knows the member at once
    const token = await at(1).client.token(member.key, member.credential)
    assert.ok(token.token.length > 0)
    // a replica started again on the same directory serves on
    const back = await startReplica(victim.dir)
    replicas[0] = back
    const admins = [generateEd25519(), generateEd25519()]
    for (const [i, admin] of admins.entries()) {
      await cli(['issuer', 'admin', 'add', '--data', dirs[2] as string, '--name', `killer-${i}`, '--key', b64(rawPublicKey(admin.publicKey))], false)
    }
    const request = await cli(['issuer', 'revoke', member.peerId, '--data', dirs[2] as string, '--reason', 'kill test'])
    for (const admin of admins) {
      const res = await fetch(`${back.url}/v1/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ request: request.id, adminKey: b64(rawPublicKey(admin.publicKey)), signature: b64(signDomain(admin.privateKey, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))) })
      })
      assert.equal(res.status, 200)
    }
    back.process.child.kill('SIGKILL')
    await back.process.exited
    await assert.rejects(at(2).client.token(member.key, member.credential), (e: IssuerClientError) => e.code === 'revoked')
    const list = await at(1).client.revocationList()
    assert.ok(list != null && list.jws.length > 0)
    const revoked = await sql<{ peer_id: string }>(`SELECT peer_id FROM revoked WHERE peer_id = '${member.peerId}'`)
    assert.equal(revoked.length, 1)
  })
})
