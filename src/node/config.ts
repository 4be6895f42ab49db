/**
 * The node's configuration: a schema with defaults, read from a YAML or JSON
 * file or passed to `createTempusNode`. Validation errors name the field.
 */
import { isIP } from 'node:net'
import * as DTN from '../dtn/constants.ts'
import * as FEDERATION from '../federation/constants.ts'
import * as RPC from '../rpc/constants.ts'
import { readFile } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import YAML from 'yaml'
import { z } from 'zod'
import { API_DEFAULTS, CONNECTION_DEFAULTS, MDNS_SERVICE_TAG } from './constants.ts'
import { ADMISSION_DEFAULTS } from '../admission/constants.ts'
import { LIVENESS_DEFAULTS, REDIAL_DEFAULTS } from '../liveness/constants.ts'
import { PEER_TYPES } from '../core/peer-type.ts'
import type { PeerType } from '../core/peer-type.ts'
import { parseDuration } from '../core/duration.ts'
import { OBSERVER_PERIOD_FACTOR, VIEW_DEFAULTS } from '../sampling/constants.ts'
import { FederatedRpcGrants } from '../federation/rpc-grants.ts'
import { RpcPolicy } from '../rpc/policy.ts'
import { ConfigError } from './errors.ts'
import { parseIssuerUrls } from '../issuer-client/issuer-url.ts'
import { ISSUER_OUTAGE_POLICIES, MAX_OUTAGE_GRACE_MS, MIN_OUTAGE_GRACE_MS } from '../admission/outage-policy.ts'


/** A duration: a number of milliseconds or a string such as `"20s"`; in milliseconds. */
const durationValue = () =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    try {
      return parseDuration(value, '')
    } catch (err: any) {
      ctx.issues.push({ code: 'custom', message: err.message, input: value })
      return z.NEVER
    }
  })
const duration = (fallback: number) => durationValue().default(fallback)

const multiaddrString = z.string().superRefine((value, ctx) => {
  try {
    multiaddr(value)
  } catch {
    ctx.addIssue({ code: 'custom', message: `not a valid multiaddr: ${JSON.stringify(value)}` })
  }
})

/** A bootstrap address must name the peer it expects to reach. */
const peerMultiaddrString = multiaddrString.superRefine((value, ctx) => {
  try {
    if (multiaddr(value).getComponents().find(c => c.name === 'p2p') == null) {
      ctx.addIssue({ code: 'custom', message: `bootstrap address must end in /p2p/<peer id>: ${JSON.stringify(value)}` })
    }
  } catch {}
})

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

/**
 * `HOST:PORT` (or its parsed form `{ host, port }`, so a validated config
 * validates again) where HOST is a loopback address: the admin API never
 * leaves the machine.
 */
const loopbackHostPort = z.union([
  z.string(),
  z.strictObject({ host: z.string(), port: z.number().int() })
]).transform((value, ctx) => {
  let host: string | undefined
  let port: number
  if (typeof value === 'string') {
    const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value.trim())
    host = match?.[1]
    port = Number(match?.[2])
  } else {
    host = value.host.includes(':') ? `[${value.host}]` : value.host
    port = value.port
  }
  if (host == null || !Number.isInteger(port) || port < 0 || port > 65535) {
    ctx.issues.push({ code: 'custom', message: `expected HOST:PORT, got ${JSON.stringify(value)}`, input: value })
    return z.NEVER
  }
  if (!LOOPBACK_HOSTS.has(host)) {
    ctx.issues.push({ code: 'custom', message: `the admin API binds to loopback only (127.0.0.1 or [::1]), got ${JSON.stringify(host)}`, input: value })
    return z.NEVER
  }
  return { host: host.replace(/^\[|\]$/g, ''), port }
})

/** One Cyclon view's settings, with the population's defaults. */
function viewSchema (type: PeerType) {
  const d = VIEW_DEFAULTS[type]
  return z.strictObject({
    /** c: entries the view holds */
    capacity: z.number().int().min(1).max(200).default(d.capacity),
    /** l: entries exchanged per shuffle (≤ capacity) */
    shuffleLength: z.number().int().min(1).max(64).default(d.shuffleLength),
    /** time between two shuffles of the view's members */
    period: duration(d.periodMs),
    /** time between two pulls by an observer (a node of another type); 4 × period when absent */
    observerPeriod: durationValue().optional()
  }).prefault({}).refine(v => v.shuffleLength <= v.capacity, { message: 'shuffleLength must not exceed capacity' })
    .transform(v => ({ ...v, observerPeriod: v.observerPeriod ?? v.period * OBSERVER_PERIOD_FACTOR }))
}

/**
 * An address block, `10.0.0.0/8`, `fd00::/8` or a single address, given to
 * libp2p as the multiaddr it expects (`/ip4/10.0.0.0/ipcidr/8`, also
 * accepted as such, so a parsed config parses again unchanged).
 */
const cidr = z.string().transform((value, ctx) => {
  if (/^\/ip[46]\/[0-9a-fA-F.:]+\/ipcidr\/\d{1,3}$/.test(value)) {
    return value
  }
  const match = /^([0-9.]+|[0-9a-fA-F:]+)(?:\/(\d{1,3}))?$/.exec(value)
  const family = match == null ? 0 : isIP(match[1] as string)
  const bits = match?.[2] == null ? (family === 4 ? 32 : 128) : Number(match[2])
  if (match == null || family === 0 || bits > (family === 4 ? 32 : 128)) {
    ctx.issues.push({ code: 'custom', message: `expected an address block such as 10.0.0.0/8, got ${JSON.stringify(value)}`, input: value })
    return z.NEVER
  }
  return `/ip${family}/${match[1] as string}/ipcidr/${bits}`
})

/**
 * Issuer replicas: 1 to 16 base URLs, none twice. A bad entry's problem is
 * reported at its index (`issuers.1`) without repeating its text, which may
 * hold a secret.
 */
const issuerUrls = z.array(z.unknown()).transform((value, ctx) => {
  try {
    return parseIssuerUrls(value)
  } catch (err: any) {
    // the field's path names the entry, so the message need not
    ctx.issues.push({ code: 'custom', message: String(err.message).replace(/^issuer URL \d+: /, ''), input: value, ...(err.index == null ? {} : { path: [err.index] }) })
    return z.NEVER
  }
})

const positiveInt = (fallback: number): z.ZodDefault<z.ZodNumber> => z.number().int().min(1).default(fallback)

export const configSchema = z.strictObject({
  /** edge, bridge or sentinel; until admission lands it is self-declared */
  type: z.enum(PEER_TYPES),
  /** multiaddrs to listen on */
  listen: z.array(multiaddrString).default(['/ip4/0.0.0.0/tcp/0']),
  /** multiaddrs to announce instead of the listen addresses (e.g. behind NAT) */
  announce: z.array(multiaddrString).default([]),
  /**
   * every issuer replica's base URL (`https://host:port`); when set it wins
   * over the list enrolment gave (`enrollment.json`)
   */
  issuers: issuerUrls.optional(),
  /** sentinels to dial first: `/ip4/…/tcp/…/p2p/<peer id>` */
  bootstrap: z.array(peerMultiaddrString).default([]),
  mdns: z.strictObject({
    enabled: z.boolean().default(true),
    interval: duration(10_000),
    serviceTag: z.string().min(1).default(MDNS_SERVICE_TAG),
    /** interface names to run on (all non-loopback IPv4 links when empty) */
    interfaces: z.array(z.string().min(1).max(64)).max(64).default([])
  }).prefault({}),
  api: z.strictObject({
    enabled: z.boolean().default(true),
    listen: loopbackHostPort.default({ host: API_DEFAULTS.host, port: API_DEFAULTS.port })
  }).prefault({}),
  connections: z.strictObject({
    maxConnections: positiveInt(CONNECTION_DEFAULTS.maxConnections),
    minConnections: z.number().int().min(0).default(CONNECTION_DEFAULTS.minConnections),
    /** sentinels kept connected, chosen by rendezvous hashing (others stand in for ones out of reach, up to twice this) */
    sentinelLinks: z.number().int().min(1).max(64).default(CONNECTION_DEFAULTS.sentinelLinks),
    maxIncomingPendingConnections: positiveInt(CONNECTION_DEFAULTS.maxIncomingPendingConnections),
    inboundConnectionThreshold: positiveInt(CONNECTION_DEFAULTS.inboundConnectionThreshold),
    maxParallelDials: positiveInt(CONNECTION_DEFAULTS.maxParallelDials),
    dialTimeout: duration(CONNECTION_DEFAULTS.dialTimeoutMs),
    inboundUpgradeTimeout: duration(CONNECTION_DEFAULTS.inboundUpgradeTimeoutMs),
    /** CIDRs (e.g. `10.0.0.0/8`) exempt from the per-host inbound rate limit */
    allow: z.array(cidr).default([])
  }).prefault({}),
  liveness: z.strictObject({
    pingInterval: duration(LIVENESS_DEFAULTS.pingIntervalMs),
    pingTimeout: duration(LIVENESS_DEFAULTS.pingTimeoutMs),
    /** failed pings in a row that end a connection (one lost ping is not a dead peer) */
    pingFailures: z.number().int().min(1).max(10).default(LIVENESS_DEFAULTS.pingFailuresToDrop),
    maintainInterval: duration(LIVENESS_DEFAULTS.maintainIntervalMs),
    networkPollInterval: duration(LIVENESS_DEFAULTS.networkPollIntervalMs),
    /** ... while the node has no connection: how soon it sees its link back */
    isolatedNetworkPollInterval: duration(LIVENESS_DEFAULTS.isolatedNetworkPollIntervalMs),
    /** how long a connection stays open before identify and gossipsub's streams start on it (0: at once) */
    settleDelay: duration(LIVENESS_DEFAULTS.settleDelayMs)
  }).prefault({}),
  redial: z.strictObject({
    initialDelay: duration(REDIAL_DEFAULTS.initialDelayMs),
    maxDelay: duration(REDIAL_DEFAULTS.maxDelayMs),
    factor: z.number().min(1).default(REDIAL_DEFAULTS.factor),
    jitter: z.number().min(0).max(1).default(REDIAL_DEFAULTS.jitter),
    /** for the first `earlyFor` of a kept peer's absence, redials at most this far apart */
    earlyMaxDelay: duration(REDIAL_DEFAULTS.earlyMaxDelayMs),
    earlyFor: duration(REDIAL_DEFAULTS.earlyForMs),
    /** peers a network fault took (no answer to pings) redialled for `earlyFor` though not kept, the most recent this many; 0: none */
    lostPeers: z.number().int().min(0).max(64).default(LIVENESS_DEFAULTS.lostPeers)
  }).prefault({}),
  admission: z.strictObject({
    /** the admission exchange must finish within this */
    deadline: duration(ADMISSION_DEFAULTS.deadlineMs),
    /** grant and take resumption tickets (a reconnect within 2 min skips the token and proof exchange) */
    resumption: z.boolean().default(true),
    /** how often the issuer's revocation list is polled when the issuer did not hold the last poll (held polls follow one another) */
    crlPollInterval: duration(ADMISSION_DEFAULTS.crlPollIntervalMs),
    /** how long the issuer may hold a poll of the revocation list or the keys until newer ones exist (a long poll); 0: never held */
    pollWait: duration(ADMISSION_DEFAULTS.pollWaitMs).refine(v => v === 0 || (v >= 1_000 && v <= 30_000), {
      message: 'pollWait must be "0s" (never held) or lie between 1s and 30s (the issuer holds a poll 30 s at most); e.g. "25s"'
    }),
    /** how often lapsed admissions are looked for */
    sweepInterval: duration(ADMISSION_DEFAULTS.sweepIntervalMs),
    /** how often announced keys are fetched when the issuer did not hold the last poll (held polls follow one another) */
    keysPollInterval: duration(ADMISSION_DEFAULTS.keysPollIntervalMs),
    /**
     * while no issuer answers this node: keep the connections admitted before
     * the outage whose peers' tokens lapse (`keep-established`, for at most
     * `outageGrace`), or close them as their tokens lapse (`fail-closed`)
     */
    issuerOutage: z.enum(ISSUER_OUTAGE_POLICIES).default(ADMISSION_DEFAULTS.issuerOutage),
    /** the longest keep-established holds a lapsed connection after the outage began */
    outageGrace: duration(ADMISSION_DEFAULTS.outageGraceMs).refine(v => v >= MIN_OUTAGE_GRACE_MS && v <= MAX_OUTAGE_GRACE_MS, {
      message: `outageGrace must lie between 1m and 24h (an expired token is free of suspicion for 24 h only); e.g. "30m"`
    })
  }).prefault({}),
  sampling: z.strictObject({
    edge: viewSchema('edge'),
    bridge: viewSchema('bridge'),
    sentinel: viewSchema('sentinel')
  }).prefault({}),
  rpc: z.strictObject({
    /** default deny: each rule grants methods to one PeerId or to a type */
    rules: z.array(z.strictObject({
      peer: z.string().optional(),
      type: z.enum(PEER_TYPES).optional(),
      allow: z.array(z.string()).min(1)
    }).superRefine((rule, ctx) => {
      try {
        RpcPolicy.check([rule as any])
      } catch (err: any) {
        ctx.addIssue({ code: 'custom', message: err.message.replace(/^rule 0: /, '') })
      }
    })).default([]),
    /** token bucket per caller: calls refused (silently) beyond this rate */
    callsPerSecondPerPeer: z.number().int().min(1).default(RPC.CALLS_PER_SECOND_PER_PEER),
    /** calls one caller may have running at once */
    maxInFlightPerPeer: z.number().int().min(1).max(10_000).default(RPC.MAX_INBOUND_CALLS_PER_PEER),
    /** many calls on one stream per connection (/tempus/rpc/session/1.0.0); false: one stream per call only */
    sessions: z.boolean().default(true)
  }).prefault({}),
  dtn: z.strictObject({
    /** 'spray' (binary spray-and-wait with `copies` copies) or 'epidemic' (a copy to every peer met) */
    routing: z.enum(['spray', 'epidemic']).default('spray'),
    /** L: spray copies of a new bundle */
    copies: z.number().int().min(1).max(DTN.MAX_COPIES).default(DTN.DEFAULT_COPIES),
    /** the types handed half of a holder's copies (others get a quarter) */
    preferredCarriers: z.array(z.enum(PEER_TYPES)).default(['sentinel', 'bridge']),
    /** payloads above this are split into fragments of this size (bytes) */
    fragmentSize: z.number().int().min(1024).max(DTN.MAX_FRAGMENT_BYTES).default(DTN.DEFAULT_FRAGMENT_SIZE),
    /** the largest payload sent or accepted (bytes) */
    maxPayload: z.number().int().min(1).max(DTN.MAX_PAYLOAD_LIMIT).default(DTN.DEFAULT_MAX_PAYLOAD),
    /** a bundle's lifetime when a send does not give one */
    lifetime: duration(DTN.DEFAULT_LIFETIME_MS).refine(v => v <= DTN.MAX_LIFETIME_MS, { message: 'at most 7 days' }),
    hopLimit: z.number().int().min(1).max(DTN.MAX_HOP_LIMIT).default(DTN.DEFAULT_HOP_LIMIT),
    /** encrypt a payload to its PeerId destination's key unless a send says otherwise */
    encrypt: z.boolean().default(true),
    /** how often each connected peer is offered what it should take */
    period: duration(DTN.DEFAULT_SESSION_PERIOD_MS),
    quota: z.strictObject({
      /** bytes of bundles held (carried, waiting, delivered) */
      totalBytes: z.number().int().min(1).default(DTN.DEFAULT_QUOTA_TOTAL_BYTES),
      /** bytes held for one source */
      perSourceBytes: z.number().int().min(1).default(DTN.DEFAULT_QUOTA_PER_SOURCE_BYTES)
    }).prefault({})
  }).prefault({}),
  federation: z.strictObject({
    /** bridges only: run a federation endpoint that links this overlay to others */
    enabled: z.boolean().default(false),
    /** where the federation endpoint listens (a port of its own) */
    listen: z.array(multiaddrString).default(['/ip4/0.0.0.0/tcp/0']),
    /** remote bridges' federation endpoints to keep connected: `/ip4/…/tcp/…/p2p/<id>` */
    remotes: z.array(peerMultiaddrString).default([]),
    /** the other overlays trusted, each by its root key (base64url Ed25519) */
    anchors: z.array(z.strictObject({
      overlay: z.string().min(1).max(128),
      root: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a root key is 32 bytes of Ed25519 in base64url (43 characters)'),
      issuer: z.string().min(1).max(256).optional()
    })).default([]),
    /** a pin is stale this long after its handshake */
    rotationWindow: duration(FEDERATION.DEFAULT_ROTATION_WINDOW_MS),
    /** clock skew allowed on a remote's challenge */
    skew: duration(FEDERATION.DEFAULT_FEDERATION_SKEW_MS),
    /** what crosses between overlays (default: nothing) */
    relay: z.strictObject({
      /** anomaly kinds relayed both ways: re-published with their origin's signature as provenance */
      anomalyKinds: z.array(z.string().regex(/^[a-z0-9][a-z0-9._:/-]{0,63}$/, 'an anomaly kind')).max(256).default([]),
      /** bundles addressed to a node of another overlay (\`<dest>@<overlay>\`) are handed across, both ways */
      bundles: z.boolean().default(false)
    }).prefault({}),
    /** RPC methods bridges of other overlays may call here (default: none) */
    rpc: z.array(z.strictObject({
      overlay: z.string().min(1).max(128),
      peer: z.string().optional(),
      allow: z.array(z.string()).min(1)
    }).superRefine((grant, ctx) => {
      try {
        FederatedRpcGrants.check([grant])
      } catch (err: any) {
        ctx.addIssue({ code: 'custom', message: err.message.replace(/^grant 0: /, '') })
      }
    })).default([])
  }).prefault({}),
  metrics: z.strictObject({
    /** Prometheus metrics (libp2p's and the process's) on the admin API */
    enabled: z.boolean().default(true)
  }).prefault({}),
  log: z.strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')
  }).prefault({})
}).superRefine((config, ctx) => {
  if (config.federation.enabled && config.type !== 'bridge') {
    ctx.addIssue({ code: 'custom', path: ['federation', 'enabled'], message: 'only bridges federate' })
  }
})

/** What a config file or a caller may give: every field but `type` is optional. */
export type TempusConfigInput = z.input<typeof configSchema>
/** The validated configuration with every default filled in. */
export type TempusConfig = z.output<typeof configSchema>

/**
 * Validate a configuration object. Throws a `ConfigError` whose `field` names
 * the first offending field; the message lists every problem found.
 */
export function parseConfig (input: unknown): TempusConfig {
  const result = configSchema.safeParse(input)
  if (result.success) {
    return result.data
  }
  const issues = result.error.issues
  const describe = (issue: z.core.$ZodIssue): string => {
    const field = issue.path.map(String).join('.')
    return field === '' ? issue.message : `${field}: ${issue.message}`
  }
  const first = issues[0]
  const field = first?.path.map(String).join('.') ?? ''
  const message = issues.map(describe).join('; ')
  throw new ConfigError(`invalid configuration: ${message}`, field)
}

/** Read and validate a YAML or JSON config file (JSON is valid YAML). */
export async function loadConfigFile (path: string, overrides: Record<string, unknown> = {}): Promise<TempusConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err: any) {
    throw new ConfigError(`cannot read config file ${path}: ${err.code ?? err.message}`)
  }
  let parsed: unknown
  try {
    parsed = YAML.parse(text, { maxAliasCount: 100 })
  } catch (err: any) {
    throw new ConfigError(`config file ${path} is not valid YAML or JSON: ${err.message}`)
  }
  if (parsed == null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a mapping of fields`)
  }
  return parseConfig({ ...parsed, ...overrides })
}
