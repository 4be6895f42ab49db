/**
 * Issue #15 item 4: every service's `Init` is all-optional, with its
 * defaults in one place per capability. A libp2p node built from the
 * factories with nothing but the admission service's shared state gets a
 * working RPC, gossip, DTN, sampling, federation, peer keeper and network
 * watcher: the state and the node's type come from the admission service,
 * stores are in memory, timing is the capability's defaults. Without the
 * admission service, a service that needs it says so by name.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { serviceDependencies } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@chainsafe/libp2p-yamux'
import { noise } from '@chainsafe/libp2p-noise'
import { createLibp2p } from 'libp2p'
import { ADMISSION_DEFAULTS } from '../../src/admission/constants.ts'
import { ADMISSION_CAPABILITY, MissingAdmissionError } from '../../src/admission/provider.ts'
import { admissionService } from '../../src/admission/service.ts'
import { admissionStateFor } from '../../src/admission/state.ts'
import { dtnService } from '../../src/dtn/service.ts'
import { federationService } from '../../src/federation/service.ts'
import { gossipService } from '../../src/gossip/service.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { networkWatcher } from '../../src/liveness/network-watcher.ts'
import { peerKeeper } from '../../src/liveness/peer-keeper.ts'
import { peerDirectory } from '../../src/node/peer-directory.ts'
import { rpc } from '../../src/rpc/rpc.ts'
import { VIEW_DEFAULTS } from '../../src/sampling/constants.ts'
import { sampler } from '../../src/sampling/sampler.ts'
import { viewSettingsOf } from '../../src/sampling/view-settings.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import type { AdmissionState } from '../../src/admission/state.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'
import type { Libp2p } from '@libp2p/interface'

describe('services: all-optional Init, defaults from the capability', () => {
  let issuer: TestIssuer
  let state: AdmissionState
  const nodes: Libp2p[] = []

  before(async () => {
    issuer = await startTestIssuer()
    const key = await generateKeyPair('Ed25519')
    const enrolled = await new IssuerClient({ url: issuer.url }).enroll(key, await issuer.issuer.createCode('bridge'))
    state = await admissionStateFor(enrolled)
  })
  after(async () => {
    await Promise.all(nodes.map(async n => { await n.stop() }))
    await issuer.stop()
  })

  it('a node of factories called with no Init starts, each service on the admission service\'s state and the enrolled type', async () => {
    const node = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        admission: admissionService(state),
        identify: identify(),
        pubsub: gossipsub(),
        gossip: gossipService(),
        dtn: dtnService(),
        rpc: rpc(),
        sampling: sampler(),
        federation: federationService(),
        directory: peerDirectory(),
        keeper: peerKeeper(),
        network: networkWatcher()
      }
    })
    nodes.push(node)
    assert.equal(node.status, 'started')
    const { dtn, rpc: calls, sampling, gossip, federation } = node.services
    // the node's type: what it enrolled as
    assert.equal(state.selfType, 'bridge')
    assert.equal(sampling.type, 'bridge')
    assert.equal(dtn.status().quota.totalBytes > 0, true, 'an in-memory bundle store with the default quota')
    assert.equal(gossip.status().held, 0, 'an in-memory anomaly store')
    assert.equal(federation.pins.store.list().length, 0, 'federates with nobody')
    assert.deepEqual(calls.exposedMethods(), [], 'nothing exposed, nothing granted')
    for (const service of [dtn, calls, sampling]) {
      assert.deepEqual((service as any)[serviceDependencies], [ADMISSION_CAPABILITY], `${String(service)} depends on the admission service`)
    }
    assert.deepEqual((gossip as any)[serviceDependencies], ['@libp2p/pubsub', ADMISSION_CAPABILITY])
    assert.equal(ADMISSION_DEFAULTS.issuerOutage, 'keep-established', 'the service and the config share one default')
  })

  it('a service given its state declares no dependency on the admission service', async () => {
    const node = await createLibp2p({ start: false, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { rpc: rpc({ state }), dtn: dtnService({ state, type: 'edge' }) } })
    nodes.push(node)
    assert.deepEqual((node.services.rpc as any)[serviceDependencies], [])
    assert.deepEqual((node.services.dtn as any)[serviceDependencies], [])
  })

  for (const [name, factory] of [['RPC', () => rpc()], ['DTN', () => dtnService()], ['sampling', () => sampler()]] as const) {
    it(`the ${name} service without the admission service, or listed before it, fails naming what to do`, async () => {
      const built = createLibp2p({ start: false, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { svc: factory() as any, admission: admissionService(state) } })
      await assert.rejects(built, (err: any) => {
        assert.ok(err instanceof MissingAdmissionError, String(err))
        assert.equal(err.code, 'missing-admission')
        assert.match(err.message, /Init\.state.*admissionService/)
        return true
      })
    })
  }

  it('view settings: what was given, the rest from VIEW_DEFAULTS, observers at 4 × the period', () => {
    const settings = viewSettingsOf({ edge: { capacity: 30 }, sentinel: { periodMs: 1_000 } })
    assert.deepEqual(settings.edge, { ...VIEW_DEFAULTS.edge, capacity: 30, observerPeriodMs: 4 * VIEW_DEFAULTS.edge.periodMs })
    assert.deepEqual(settings.sentinel, { ...VIEW_DEFAULTS.sentinel, periodMs: 1_000, observerPeriodMs: 4_000 })
    assert.deepEqual(settings.bridge, { ...VIEW_DEFAULTS.bridge, observerPeriodMs: 4 * VIEW_DEFAULTS.bridge.periodMs })
  })
})
