/**
 * Who may call what: default deny. A rule grants a set of methods
 * (`module.function`, `module.*`, or `*`) to one PeerId or to every peer of
 * a type; a call is allowed when some rule grants it to the caller. Pure:
 * the service asks, the config file fills it, the API shows it.
 */
import { isPeerType } from '../core/peer-type.ts'
import { DEFAULT_CALL_TIMEOUT_MS } from './constants.ts'
import type { PeerType } from '../core/peer-type.ts'

export interface RpcRule {
  /** the caller's PeerId … */
  peer?: string
  /** … or every caller of this type (exactly one of the two) */
  type?: PeerType
  /** methods granted: `module.function`, `module.*` or `*` */
  allow: string[]
}

const METHOD = /^[a-z][a-zA-Z0-9_]{0,63}\.[a-zA-Z_][a-zA-Z0-9_]{0,63}$/
const PATTERN = /^(\*|[a-z][a-zA-Z0-9_]{0,63}\.(\*|[a-zA-Z_][a-zA-Z0-9_]{0,63}))$/

export function isMethodName (name: unknown): name is string {
  return typeof name === 'string' && METHOD.test(name)
}

export function isMethodPattern (pattern: unknown): pattern is string {
  return typeof pattern === 'string' && PATTERN.test(pattern)
}

/** Does a grant pattern (`module.function`, `module.*`, `*`) cover `method`? */
export function matches (pattern: string, method: string): boolean {
  if (pattern === '*' || pattern === method) {
    return true
  }
  return pattern.endsWith('.*') && method.startsWith(pattern.slice(0, -1))
}

export interface RpcPolicyOptions {
  /** the clock (ms since the epoch) */
  now?: () => number
  /**
   * how long a grant that a reload removed still spares its holders: their
   * calls are refused, but not charged as misbehaviour (ms)
   * @default DEFAULT_CALL_TIMEOUT_MS (one call deadline: a call sent before the caller could know arrives within it)
   */
  graceMs?: number
}

/** one grant: a subject (`peer:ID` or `type:T`) and a method pattern */
type Grant = string

function grantsOf (rules: RpcRule[]): Set<Grant> {
  return new Set(rules.flatMap(r => r.allow.map(p => `${r.peer != null ? `peer:${r.peer}` : `type:${r.type ?? ''}`} ${p}`)))
}

export class RpcPolicy {
  private rules: RpcRule[]
  private readonly now: () => number
  private readonly graceMs: number
  /**
   * grants a reload removed, and until when their holders are graced:
   * calls they sent before they could know are refused, not charged
   */
  private readonly removed = new Map<Grant, number>()

  constructor (rules: RpcRule[] = [], options: RpcPolicyOptions = {}) {
    this.rules = RpcPolicy.check(rules)
    this.now = options.now ?? Date.now
    this.graceMs = options.graceMs ?? DEFAULT_CALL_TIMEOUT_MS
  }

  /** Validate rules; throws a TypeError naming the bad rule. */
  static check (rules: RpcRule[]): RpcRule[] {
    rules.forEach((r, i) => {
      if ((r.peer == null) === (r.type == null)) {
        throw new TypeError(`rule ${i}: give exactly one of peer or type`)
      }
      if (r.type != null && !isPeerType(r.type)) {
        throw new TypeError(`rule ${i}: type must be edge, bridge or sentinel`)
      }
      if (r.peer != null && (typeof r.peer !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{20,80}$/.test(r.peer))) {
        throw new TypeError(`rule ${i}: peer must be a PeerId`)
      }
      if (!Array.isArray(r.allow) || r.allow.length === 0 || !r.allow.every(isMethodPattern)) {
        throw new TypeError(`rule ${i}: allow must list module.function, module.* or *`)
      }
    })
    return rules.map(r => ({ ...r, allow: [...r.allow] }))
  }

  /** Replace every rule at once (a config reload). */
  replace (rules: RpcRule[]): void {
    const next = RpcPolicy.check(rules)
    const now = this.now()
    const kept = grantsOf(next)
    for (const [grant, until] of this.removed) {
      if (until <= now || kept.has(grant)) this.removed.delete(grant)
    }
    for (const grant of grantsOf(this.rules)) {
      if (!kept.has(grant)) this.removed.set(grant, now + this.graceMs)
    }
    this.rules = next
  }

  /**
   * Did a reload remove, less than a grace ago, a grant that covered this
   * call? Its caller is then refused like any other, but not charged.
   */
  graced (peer: string, type: PeerType | undefined, method: string): boolean {
    const now = this.now()
    for (const [grant, until] of this.removed) {
      if (until <= now) {
        this.removed.delete(grant)
        continue
      }
      const [subject, pattern] = grant.split(' ') as [string, string]
      const applies = subject === `peer:${peer}` || (type != null && subject === `type:${type}`)
      if (applies && matches(pattern, method)) {
        return true
      }
    }
    return false
  }

  /** Default deny: true only if a rule grants `method` to this caller. */
  allows (peer: string, type: PeerType | undefined, method: string): boolean {
    for (const r of this.rules) {
      const applies = r.peer != null ? r.peer === peer : (type != null && r.type === type)
      if (applies && r.allow.some(p => matches(p, method))) {
        return true
      }
    }
    return false
  }

  list (): RpcRule[] {
    return this.rules.map(r => ({ ...r, allow: [...r.allow] }))
  }
}
