/**
 * Admission, measured against its baselines in the same run:
 * - admitted connect latency (libp2p with TCP + Noise + admission + Yamux)
 *   vs a plain libp2p connect with the same transports, and a full tempus
 *   node's connect for reference;
 * - tokens issued per second by the issuer (signature + audit-log append),
 *   in process and over HTTP;
 * - token verifications per second (distinct tokens, so no cache helps) vs
 *   raw Ed25519 verifications per second of messages of the same size;
 * - a reconnect and its first RPC call between tempus nodes, resumed on a
 *   ticket vs the full exchange (resumption off): two pairs of nodes side by
 *   side, their cycles alternating, each figure the p50 over all rounds;
 * - the same admitted connect, and admission proofs signed per second, with
 *   the identity key in a SoftHSM2 token (PKCS#11) vs a key in memory (a
 *   file key once opened), when Debian's softhsm2 is installed.
 *
 * - the same reconnect over a link with a round trip of `--rtt` ms (a relay
 *   that holds each chunk; 0: not measured), where round trips, not CPU,
 *   set its time;
 *
 *   npm run bench:admission -- [--rounds 3] [--iterations 300] [--tokens 20000] [--rtt 10] [--json]
 */
import { verify as edVerify } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { DOMAINS } from '../src/core/domains.ts'
import { keyObjectOf, publicKeyFromRawBytes, signDomain } from '../src/core/keys.ts'
import { libp2pKeyOf, openPkcs11Key } from '../src/identity/index.ts'
import { SOFTHSM_MODULE, startSoftHsm } from '../test/fixtures/softhsm.ts'
import { TokenVerifier } from '../src/admission/verifier.ts'
import { IssuerClient } from '../src/issuer-client/client.ts'
import { benchArgs, intArg } from './lib/args.ts'
import { admittedStack, compareStacks, plainStack, tempusStack } from './lib/connect.ts'
import type { ConnectFigures } from './lib/connect.ts'
import type { PrivateKey } from '@libp2p/interface'
import { startBenchOverlay } from './lib/overlay.ts'
import { round, summarise } from './lib/stats.ts'
import { startDelayRelay } from './lib/delay-relay.ts'
import { multiaddr } from '@multiformats/multiaddr'


const args = benchArgs({
  rounds: { type: 'string', default: '3' },
  iterations: { type: 'string', default: '300' },
  tokens: { type: 'string', default: '20000' },
  rtt: { type: 'string', default: '10' },
  json: { type: 'boolean', default: false }
})
const rounds = intArg(args.rounds, 'rounds', 1, 50)
const iterations = intArg(args.iterations, 'iterations', 10, 100_000)
const tokenCount = intArg(args.tokens, 'tokens', 100, 1_000_000)
const rttMs = intArg(args.rtt, 'rtt', 0, 1000)
const json = args.json === true
const say = (line: string): void => { if (!json) process.stdout.write(line + '\n') }

const overlay = await startBenchOverlay()
say(`bench:admission — connect: ${rounds} alternating rounds of ${iterations} connects; tokens: ${tokenCount}`)

// 1. admitted connect vs plain connect: libp2p with the same transports,
// with and without admission; and, for reference, a full tempus node
// (identify, DHT, gossipsub, metrics… all reacting to each connection)
// with the identity in a SoftHSM2 token too (each node's key generated in the token)
const hsm = existsSync(SOFTHSM_MODULE) ? await startSoftHsm('tempus-bench') : undefined
let hsmKeys = 0
const tokenKey = async (): Promise<PrivateKey> => {
  if (hsm == null) throw new Error('no SoftHSM2')
  return libp2pKeyOf(openPkcs11Key(hsm.uri(`bench-${hsmKeys++}`), { pin: hsm.pin, generate: true }))
}
const stacks = [
  admittedStack(overlay),
  tempusStack(overlay, {}, 'tempus node'),
  plainStack,
  ...(hsm == null ? [] : [admittedStack(overlay, { name: 'libp2p + admission, PKCS#11 key', key: tokenKey })])
]
const [ours, node, base, hsmConnect] = await compareStacks(stacks, rounds, iterations, 2, 2, say) as [ConnectFigures, ConnectFigures, ConnectFigures, ConnectFigures | undefined]
say(`admitted connect p50 ${round(ours.p50)} ms (p99 ${round(ours.p99)}), plain ${round(base.p50)} ms (p99 ${round(base.p99)}): ${round(ours.p50 / base.p50)}×`)
if (hsmConnect != null) {
  say(`admitted connect with the identity key in SoftHSM2: p50 ${round(hsmConnect.p50)} ms (p99 ${round(hsmConnect.p99)}): ${round(hsmConnect.p50 / ours.p50)}× the in-memory key`)
}

// admission proofs signed per second: the signature each side makes per connect
const proofRate = async (key: PrivateKey): Promise<number> => {
  const signer = keyObjectOf(key)
  const nonce = randomBytes(32)
  const tokenHash = randomBytes(32)
  const n = 5000
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    nonce[0] = i & 255
    signDomain(signer, DOMAINS.admitProof, nonce, tokenHash)
  }
  return n / ((performance.now() - t0) / 1000)
}
const proofsPerSecMemory = await proofRate(await generateKeyPair('Ed25519'))
const proofsPerSecPkcs11 = hsm == null ? undefined : await proofRate(await tokenKey())
say(`admission proofs signed: ${round(proofsPerSecMemory, 0)}/s in-memory key` + (proofsPerSecPkcs11 == null ? ' (softhsm2 not installed: no PKCS#11 figures)' : `, ${round(proofsPerSecPkcs11, 0)}/s SoftHSM2 key: ${round(proofsPerSecPkcs11 / proofsPerSecMemory)}×`))
say(`full tempus node connect p50 ${round(node.p50)} ms (p99 ${round(node.p99)}): ${round(node.p50 / base.p50)}× plain`)

// 1b. reconnect + first call between full tempus nodes: resumed on a ticket vs the full exchange.
// Both pairs of nodes run side by side and their cycles alternate (which goes first alternates
// too), so each resumed sample has a full one taken within milliseconds of it: a machine whose
// speed drifts between rounds (seen here: one round's p50 half again another's) moves both alike.
// Each cycle ends when the target has seen its connection close, so no cycle's tail runs in the next
interface CallPair { cycle: (i: number) => Promise<number>, stop: () => Promise<void> }
const callPair = async (resumption: boolean, oneWayMs: number): Promise<CallPair> => {
  // loopback exempt from the per-host inbound rate limit (64/s): this loop dials faster than that on purpose
  const config = { admission: { resumption }, connections: { minConnections: 0, allow: ['127.0.0.0/8'] }, sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }
  const target = await overlay.node('sentinel', config)
  target.rpc.expose('echo.back', (x: unknown) => x as any)
  target.rpc.policy.replace([{ type: 'edge', allow: ['echo.*'] }])
  const dialer = await overlay.node('edge', config)
  const direct = target.getMultiaddrs()[0]?.toString() ?? ''
  // over a link with a round trip: the same address, through a relay that holds each chunk
  const targetPort = Number(/\/tcp\/(\d+)/.exec(direct)?.[1])
  const relay = oneWayMs > 0 ? await startDelayRelay(targetPort, oneWayMs) : undefined
  const addr = multiaddr(relay == null ? direct : direct.replace(`/tcp/${targetPort}/`, `/tcp/${relay.port}/`))
  return {
    cycle: async (i) => {
      const t0 = performance.now()
      const connection = await dialer.libp2p.dial(addr, { signal: AbortSignal.timeout(10_000) })
      await dialer.rpc.call(target.peerId, 'echo.back', i, { timeout: 10_000 })
      const elapsed = performance.now() - t0
      // untimed: the close is over on both sides before the next cycle (of the other pair) starts
      const closed = target.libp2p.getConnections().length === 0
        ? undefined
        : new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => { reject(new Error('the target did not see the connection close within 10 s')) }, 10_000)
          target.libp2p.addEventListener('connection:close', () => { clearTimeout(timer); resolve() }, { once: true })
        })
      await connection.close()
      await closed
      return elapsed
    },
    stop: async () => { await dialer.stop(); await target.stop(); await relay?.stop() }
  }
}
/** reconnect + first call, resumed and full, alternating cycle by cycle: each one's samples */
const reconnects = async (roundsOf: number, iterationsOf: number, oneWayMs: number, label: string): Promise<{ full: number[], resumed: number[] }> => {
  const fullCall: number[] = []
  const resumedCall: number[] = []
  for (let r = 0; r < roundsOf; r++) {
    const f: number[] = []
    const s: number[] = []
    const full = await callPair(false, oneWayMs)
    const resumed = await callPair(true, oneWayMs).catch(async (err) => { await full.stop(); throw err })
    try {
      for (let i = 0; i < iterationsOf + 20; i++) {
        const first = i % 2 === 0 ? full : resumed
        const a = await first.cycle(i)
        const b = await (first === full ? resumed : full).cycle(i)
        if (i < 20) continue // warm-up: the first resumed cycle has no ticket yet, and the JIT is cold
        f.push(first === full ? a : b)
        s.push(first === full ? b : a)
      }
    } finally {
      await full.stop()
      await resumed.stop()
    }
    fullCall.push(...f)
    resumedCall.push(...s)
    say(`  ${label}round ${r + 1}/${roundsOf}: connect + first call p50: full exchange ${summarise(f).p50.toFixed(2)} ms, resumed ${summarise(s).p50.toFixed(2)} ms`)
  }
  return { full: fullCall, resumed: resumedCall }
}
const { full: fullCall, resumed: resumedCall } = await reconnects(rounds, iterations, 0, '')
const fullCallP50 = summarise(fullCall).p50
const resumedCallP50 = summarise(resumedCall).p50
say(`reconnect + first call p50 (${resumedCall.length} cycles each, alternating): resumed ${round(resumedCallP50)} ms vs full exchange ${round(fullCallP50)} ms: ${round(resumedCallP50 / fullCallP50)}×`)

// the same over a link with a round trip (--rtt): what a reconnect saves in round trips, not CPU
const atRtt = rttMs > 0 ? await reconnects(1, 60, rttMs / 2, `rtt ${rttMs} ms: `) : undefined
const fullAtRttP50 = atRtt == null ? undefined : summarise(atRtt.full).p50
const resumedAtRttP50 = atRtt == null ? undefined : summarise(atRtt.resumed).p50
if (atRtt != null) {
  say(`reconnect + first call p50 over a ${rttMs}-ms round trip: resumed ${round(resumedAtRttP50 ?? 0)} ms vs full exchange ${round(fullAtRttP50 ?? 0)} ms: ${round((resumedAtRttP50 ?? 0) / (fullAtRttP50 ?? 1))}×`)
}

// 2. tokens issued per second (in process: what the issuer can sign and log)
const members = await Promise.all(Array.from({ length: 100 }, async () => {
  const key = await generateKeyPair('Ed25519')
  return peerIdFromPrivateKey(key).toString()
}))
const issued: string[] = []
let start = performance.now()
const batch = 64
for (let i = 0; i < tokenCount; i += batch) {
  const n = Math.min(batch, tokenCount - i)
  const results = await Promise.all(Array.from({ length: n }, async (_, j) => overlay.issuer.issueToken(members[(i + j) % members.length] as string, 'edge')))
  for (const r of results) issued.push(r.token)
}
const tokensPerSec = tokenCount / ((performance.now() - start) / 1000)
say(`tokens issued: ${round(tokensPerSec, 0)}/s in process (signature + audit log append)`)

// and over HTTP, the whole request: challenge, proof of possession, credential check, token
const httpCount = Math.min(2000, tokenCount)
const client = new IssuerClient({ url: overlay.http.url })
const keys = await Promise.all(Array.from({ length: 16 }, async () => generateKeyPair('Ed25519')))
const creds = await Promise.all(keys.map(async k => (await client.enroll(k, (await overlay.issuer.createCode('edge')))).credential))
start = performance.now()
let done = 0
await Promise.all(keys.map(async (k, i) => {
  while (done < httpCount) {
    done++
    await client.token(k, creds[i] as string)
  }
}))
const httpTokensPerSec = done / ((performance.now() - start) / 1000)
say(`tokens issued over HTTP: ${round(httpTokensPerSec, 0)}/s (16 concurrent clients, challenge + token per request)`)

// 3. verifications: distinct tokens through the verifier vs raw Ed25519
const root = publicKeyFromRawBytes(new Uint8Array(Buffer.from(overlay.issuer.rootPublicKey, 'base64url')))
const verifier = new TokenVerifier({ overlay: overlay.issuer.overlay, issuer: overlay.issuer.id, root })
await verifier.setCurrent((await overlay.issuer.keys()).current)
const verifyCount = Math.min(issued.length, 20_000)
start = performance.now()
for (let i = 0; i < verifyCount; i++) {
  await verifier.verify(issued[issued.length - 1 - i] as string)
}
const verifyPerSec = verifyCount / ((performance.now() - start) / 1000)

const signingKey = verifier.current?.publicKey
const parts = (issued[0] as string).split('.')
const message = Buffer.from(`${parts[0]}.${parts[1]}`)
const signature = Buffer.from(parts[2] ?? '', 'base64url')
start = performance.now()
for (let i = 0; i < verifyCount; i++) {
  edVerify(null, message, signingKey as any, signature)
}
const rawVerifyPerSec = verifyCount / ((performance.now() - start) / 1000)
say(`verifications: ${round(verifyPerSec, 0)}/s tokens (distinct, full checks) vs ${round(rawVerifyPerSec, 0)}/s raw Ed25519: ${round(verifyPerSec / rawVerifyPerSec)}×`)

await overlay.stop()
await hsm?.stop()
if (json) {
  process.stdout.write(JSON.stringify({
    admittedConnectP50Ms: round(ours.p50),
    fullConnectCallP50Ms: round(fullCallP50),
    resumedConnectP50Ms: round(resumedCallP50),
    resumedConnectRatio: round(resumedCallP50 / fullCallP50),
    rttMs,
    fullConnectCallAtRttP50Ms: fullAtRttP50 == null ? null : round(fullAtRttP50),
    resumedConnectAtRttP50Ms: resumedAtRttP50 == null ? null : round(resumedAtRttP50),
    resumedConnectRatioAtRtt: fullAtRttP50 == null || resumedAtRttP50 == null ? null : round(resumedAtRttP50 / fullAtRttP50),
    admittedConnectP99Ms: round(ours.p99),
    plainConnectP50Ms: round(base.p50),
    plainConnectP99Ms: round(base.p99),
    connectRatio: round(ours.p50 / base.p50),
    tempusNodeConnectP50Ms: round(node.p50),
    tempusNodeConnectP99Ms: round(node.p99),
    tempusNodeConnectRatio: round(node.p50 / base.p50),
    tokensPerSec: round(tokensPerSec, 0),
    httpTokensPerSec: round(httpTokensPerSec, 0),
    verifyPerSec: round(verifyPerSec, 0),
    rawVerifyPerSec: round(rawVerifyPerSec, 0),
    pkcs11ConnectP50Ms: hsmConnect == null ? null : round(hsmConnect.p50),
    pkcs11ConnectP99Ms: hsmConnect == null ? null : round(hsmConnect.p99),
    pkcs11ConnectRatio: hsmConnect == null ? null : round(hsmConnect.p50 / ours.p50),
    proofsPerSecMemory: round(proofsPerSecMemory, 0),
    proofsPerSecPkcs11: proofsPerSecPkcs11 == null ? null : round(proofsPerSecPkcs11, 0),
    proofRatio: proofsPerSecPkcs11 == null ? null : round(proofsPerSecPkcs11 / proofsPerSecMemory)
  }) + '\n')
}
process.exit(0)
