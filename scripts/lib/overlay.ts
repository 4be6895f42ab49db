/**
 * A throwaway overlay for benchmarks: an issuer (sqlite + HTTP on loopback)
 * in a temporary directory and a way to make enrolled tempus nodes.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { startIssuerHttp } from '../../src/issuer/http.ts'
import { Issuer } from '../../src/issuer/issuer.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { createTempusNode } from '../../src/node/tempus-node.ts'
import type { IssuerHttp } from '../../src/issuer/http.ts'
import type { TempusConfigInput } from '../../src/node/config.ts'
import type { PeerType } from '../../src/core/peer-type.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface BenchOverlay {
  issuer: Issuer
  http: IssuerHttp
  /** an enrolled, started node; with `privateKey`, under that identity (a caller that forges frames needs it) */
  node(type: PeerType, config?: Partial<TempusConfigInput>, privateKey?: PrivateKey): Promise<TempusNode>
  stop(): Promise<void>
}

export async function startBenchOverlay (overlay = 'bench'): Promise<BenchOverlay> {
  const dir = await mkdtemp(join(tmpdir(), 'tempus-bench-'))
  const issuer = await Issuer.init({ dir, overlay, passphrase: 'bench', scryptN: 1 << 10 })
  const silent = createLogger({ level: 'silent' })
  const http = await startIssuerHttp({ issuer, log: silent, perAddressPerSecond: 1_000_000, auditPerAddressPerSecond: 1_000_000, perPeerPerMinute: 1_000_000 })
  // a loaded machine (many nodes in this process, other work beside it) answers slowly
  const client = new IssuerClient({ url: http.url, timeoutMs: 60_000 })
  return {
    issuer,
    http,
    async node (type, config = {}, key) {
      const privateKey = key ?? await generateKeyPair('Ed25519')
      const enrollment = { ...await client.enroll(privateKey, (await issuer.createCode(type))), issuerUrl: http.url }
      return createTempusNode({ type, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: { enabled: false }, api: { enabled: false }, ...config }, { logger: silent, privateKey, enrollment })
    },
    async stop () {
      await http.close()
      await issuer.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}
