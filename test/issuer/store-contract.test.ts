/**
 * The issuer's storage contract, run against both backends (sqlite, the
 * embedded default, and PostgreSQL in a throwaway cluster): what every
 * decision needs from the store holds on each, including with two issuer
 * instances on one store at once (two replicas, or the server and the CLI).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { DOMAINS } from '../../src/core/domains.ts'
import { generateEd25519, publicKeyFromRawBytes, rawPublicKey, signDomain } from '../../src/core/keys.ts'
import { verifyRevocationList } from '../../src/admission/revocation.ts'
import { TokenVerifier } from '../../src/admission/verifier.ts'
import { checkpointsConsistent } from '../../src/issuer/audit-log.ts'
import { IssuerClient, IssuerClientError } from '../../src/issuer-client/client.ts'
import { IssuerError } from '../../src/issuer/errors.ts'
import { startIssuerHttp } from '../../src/issuer/http.ts'
import { Issuer } from '../../src/issuer/issuer.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { postgresBackend, sqliteBackend } from '../fixtures/issuer-stores.ts'
import type { IssuerHttp } from '../../src/issuer/http.ts'
import type { StoreBackend } from '../fixtures/issuer-stores.ts'

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
const PASS = 'contract-pass'

interface Instance { issuer: Issuer, http: IssuerHttp, client: IssuerClient }

for (const make of [sqliteBackend, postgresBackend]) {
  describe(`issuer store contract: ${make === sqliteBackend ? 'sqlite' : 'postgres'}`, () => {
    let backend: StoreBackend
    const open: Instance[] = []
    before(async () => { backend = await make() })
    after(async () => {
      for (const i of open) {
        await i.http.close()
        await i.issuer.close().catch(() => {})
      }
      await backend.stop()
    })

    const serve = async (issuer: Issuer): Promise<Instance> => {
      const http = await startIssuerHttp({ issuer, log: createLogger({ level: 'silent' }), perAddressPerSecond: 100_000, auditPerAddressPerSecond: 100_000, perPeerPerMinute: 100_000 })
      const instance = { issuer, http, client: new IssuerClient({ url: http.url }) }
      open.push(instance)
      return instance
    }
    /** a new issuer, and `count` instances on its store (the first made it) */
    const replicas = async (count: number, threshold = 2): Promise<Instance[]> => {
      const where = await backend.fresh()
      const first = await Issuer.init({ ...where, overlay: 'contract', passphrase: PASS, scryptN: 1 << 10, revocationThreshold: threshold })
      const out = [await serve(first)]
      for (let i = 1; i < count; i++) {
        out.push(await serve(await Issuer.open({ ...where, passphrase: PASS, scryptN: 1 << 10 })))
      }
      return out
    }
    const verifierOf = (issuer: Issuer): TokenVerifier => new TokenVerifier({
      overlay: issuer.overlay,
      issuer: issuer.id,
      root: publicKeyFromRawBytes(new Uint8Array(Buffer.from(issuer.rootPublicKey, 'base64url')))
    })

    it('init then open: one overlay, one root, the same keys; a second init on the store is refused', async () => {
      const where = await backend.fresh()
      const a = await Issuer.init({ ...where, overlay: 'contract', passphrase: PASS, scryptN: 1 << 10 })
      const b = await Issuer.open({ ...where, passphrase: PASS })
      assert.equal(b.rootPublicKey, a.rootPublicKey)
      assert.deepEqual(await b.keys(), await a.keys())
      assert.equal((await b.revocationList()).n, 1)
      await assert.rejects(Issuer.init({ ...where, overlay: 'other', passphrase: PASS, scryptN: 1 << 10 }), (e: IssuerError) => e.code === 'conflict')
      await assert.rejects(Issuer.open({ ...where, passphrase: 'wrong' }), (e: IssuerError) => e.code === 'bad-request')
      await a.close()
      await b.close()
    })

    it('a one-use code enrols exactly one of 100 concurrent requests spread over two instances', async () => {
      const [a, b] = await replicas(2) as [Instance, Instance]
      const code = await a.issuer.createCode('edge', 1)
      const keys = await Promise.all(Array.from({ length: 100 }, async () => await generateKeyPair('Ed25519')))
      const results = await Promise.allSettled(keys.map(async (k, i) => await (i % 2 === 0 ? a : b).client.enroll(k, code)))
      const won = results.filter(r => r.status === 'fulfilled')
      assert.equal(won.length, 1)
      for (const r of results) {
        if (r.status === 'rejected') {
          assert.equal((r.reason as IssuerClientError).code, 'invalid-code')
        }
      }
      const entries = await b.issuer.audit.entries(0, 1000)
      assert.equal(entries.filter(e => e.kind === 'enroll').length, 1)
    })

    it('a repeated enrolment gets its credential again on the other instance and spends no second use', async () => {
      const [a, b] = await replicas(2) as [Instance, Instance]
      const code = await a.issuer.createCode('sentinel', 1)
      const key = await generateKeyPair('Ed25519')
      const first = await a.client.enroll(key, code)
      const again = await b.client.enroll(key, code)
      assert.equal(again.peerId, first.peerId)
      await assert.rejects(b.client.enroll(await generateKeyPair('Ed25519'), code), (e: IssuerClientError) => e.code === 'invalid-code')
      // the credential from either buys tokens at either
      await b.client.token(key, first.credential)
      await a.client.token(key, again.credential)
    })

    it('after activation on one instance, the other hands out only tokens of the new epoch (strict rotation)', async () => {
      const [a, b] = await replicas(2) as [Instance, Instance]
      const key = await generateKeyPair('Ed25519')
      const { credential } = await a.client.enroll(key, await a.issuer.createCode('edge'))
      const verifier = verifierOf(a.issuer)
      await verifier.setCurrent((await a.issuer.keys()).current)
      // b has signed with epoch 1 and holds that key
      const before = await b.client.token(key, credential)
      assert.equal((await verifier.verify(before.token)).ep, 1)
      await b.issuer.announceKey()
      const activated = await a.issuer.activateKey()
      assert.equal(activated.epoch, 2)
      // the very next token from b, with no time passed: epoch 2
      for (const instance of [b, a, b]) {
        const t = await instance.client.token(key, credential)
        await verifier.setCurrent(t.keyCertificate)
        assert.equal((await verifier.verify(t.token)).ep, 2)
      }
      const tokenEpochs = (await a.issuer.audit.entries(0, 1000)).filter(e => e.kind === 'token').map(e => e.data.epoch)
      assert.deepEqual(tokenEpochs, [1, 2, 2, 2], 'no token of epoch 1 was audited (handed out) after the activation')
    })

    it('approvals gathered on both instances count together; revocation lists are numbered 1, 2, 3 … with no fork', async () => {
      const [a, b] = await replicas(2) as [Instance, Instance]
      const admins = [generateEd25519(), generateEd25519()]
      for (const [i, admin] of admins.entries()) await a.issuer.addAdmin(b64(rawPublicKey(admin.publicKey)), `admin-${i}`)
      const victims = await Promise.all(Array.from({ length: 6 }, async () => await generateKeyPair('Ed25519')))
      const ids = await Promise.all(victims.map(async v => (await a.client.enroll(v, await a.issuer.createCode('edge'))).peerId))
      const requests = await Promise.all(ids.map(async id => await b.issuer.requestRevocation(id, 'contract')))
      const approve = async (at: Instance, admin: typeof admins[0], request: typeof requests[0]): Promise<Response> => await fetch(`${at.http.url}/v1/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ request: request.id, adminKey: b64(rawPublicKey(admin.publicKey)), signature: b64(signDomain(admin.privateKey, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))) })
      })
      // the first approval of each on a, the second on b, all at once
      const answers = await Promise.all(requests.flatMap(r => [approve(a, admins[0] as typeof admins[0], r), approve(b, admins[1] as typeof admins[0], r)]))
      assert.deepEqual(answers.map(r => r.status), answers.map(() => 200))
      for (const r of requests) {
        assert.equal((await a.issuer.revocationRequest(r.id)).state, 'done')
      }
      const numbers = (await a.issuer.db.all<{ n: number }>('SELECT n FROM crls ORDER BY n')).map(r => Number(r.n))
      assert.deepEqual(numbers, [1, 2, 3, 4, 5, 6, 7])
      const latest = await b.issuer.revocationList()
      assert.equal(latest.n, 7)
      const list = await verifyRevocationList(latest.jws, publicKeyFromRawBytes(new Uint8Array(Buffer.from(a.issuer.rootPublicKey, 'base64url'))), 'contract', Date.now())
      assert.deepEqual(new Set(list.revoked.map(e => e.sub)), new Set(ids))
      // a revoked member gets no token at either
      await assert.rejects(b.client.token(victims[0] as any, 'x'), (e: IssuerClientError) => e.status >= 400)
    })

    it('the audit log is one linear sequence whichever instance appends; every checkpoint is consistent with every other', async () => {
      const [a, b] = await replicas(2) as [Instance, Instance]
      const key = await generateKeyPair('Ed25519')
      const { credential } = await a.client.enroll(key, await b.issuer.createCode('edge', 10))
      // interleaved decisions on both, tokens grouped into shared commits
      await Promise.all(Array.from({ length: 40 }, async (_, i) => await (i % 2 === 0 ? a : b).client.token(key, credential)))
      await Promise.all(Array.from({ length: 10 }, async (_, i) => await (i % 2 === 0 ? a : b).issuer.createCode('edge')))
      await a.issuer.audit.makeCheckpoint()
      const entries = await b.issuer.audit.entries(0, 1000)
      assert.deepEqual(entries.map(e => e.i), entries.map((_, i) => i), 'indexes 0..n-1, each once')
      const ca = await a.issuer.audit.checkpoints()
      const cb = await b.issuer.audit.checkpoints()
      assert.deepEqual(ca, cb, 'one set of checkpoints')
      assert.ok(ca.length >= 2)
      for (let i = 1; i < ca.length; i++) {
        const x = ca[i - 1] as typeof ca[0]
        const y = ca[i] as typeof ca[0]
        assert.ok(checkpointsConsistent(x, y, await b.issuer.audit.consistency(x.size, y.size), a.issuer.root.publicKey), `checkpoint ${x.size} → ${y.size}`)
      }
      assert.deepEqual(await a.issuer.audit.verify(a.issuer.root.publicKey), { ok: true, size: entries.length, checkpoints: ca.length, problems: [] })
    })

    it('what was acknowledged is there after the instance is closed and another opens the store', async () => {
      const where = await backend.fresh()
      const a = await Issuer.init({ ...where, overlay: 'contract', passphrase: PASS, scryptN: 1 << 10 })
      const sa = await serve(a)
      const key = await generateKeyPair('Ed25519')
      const { credential, peerId } = await sa.client.enroll(key, await a.createCode('bridge'))
      await a.setIssuerUrls(['http://127.0.0.1:1', 'https://issuer-2.example:7443'])
      const b = await serve(await Issuer.open({ ...where, passphrase: PASS }))
      assert.deepEqual((await b.issuer.overlayConfig()).issuers, ['http://127.0.0.1:1', 'https://issuer-2.example:7443'])
      const t = await b.client.token(key, credential)
      assert.ok(t.token.length > 0)
      assert.equal(await b.issuer.isRevoked(peerId), false)
      await assert.rejects(a.setIssuerUrls(['ftp://x']), (e: IssuerError) => e.code === 'bad-request')
      await assert.rejects(a.setIssuerUrls(['http://user:pw@x:1']), (e: IssuerError) => e.code === 'bad-request')
    })

    if (make === postgresBackend) {
      it('a database that goes away answers `unavailable` (503: the node tries another replica), and the instance recovers when it is back', async () => {
        const [a] = await replicas(1) as [Instance]
        const key = await generateKeyPair('Ed25519')
        const { credential } = await a.client.enroll(key, await a.issuer.createCode('edge'))
        const cluster = backend.cluster as NonNullable<StoreBackend['cluster']>
        await cluster.kill()
        await assert.rejects(a.client.token(key, credential), (e: IssuerClientError) => e.code === 'unavailable' && e.status === 503)
        await cluster.restart()
        const t = await a.client.token(key, credential)
        assert.ok(t.token.length > 0)
      })
    }
  })
}
