/**
 * RPC across overlays: default deny. A grant names an overlay (every bridge
 * of it with a fresh pin), optionally one bridge of it, and the methods it
 * may call (`module.function`, `module.*`, `*`). Only bridges of other
 * overlays ever reach the federation endpoint, and a grant counts only while
 * the caller's pin is fresh. Pure: the federation endpoint's RPC asks.
 */
import { isMethodName, isMethodPattern, matches } from '../rpc/policy.ts'
import { MAX_OVERLAY_ID_BYTES } from './constants.ts'

export interface FederatedRpcGrant {
  overlay: string
  /** one bridge of that overlay (every bridge of it with a fresh pin when absent) */
  peer?: string
  allow: string[]
}

export class FederatedRpcGrants {
  private readonly grants: FederatedRpcGrant[]

  constructor (grants: FederatedRpcGrant[] = []) {
    this.grants = FederatedRpcGrants.check(grants)
  }

  /** Validate grants; throws a TypeError naming the bad one. */
  static check (grants: FederatedRpcGrant[]): FederatedRpcGrant[] {
    grants.forEach((g, i) => {
      if (typeof g.overlay !== 'string' || g.overlay.length === 0 || Buffer.byteLength(g.overlay) > MAX_OVERLAY_ID_BYTES) {
        throw new TypeError(`grant ${i}: overlay must be 1 to ${MAX_OVERLAY_ID_BYTES} bytes`)
      }
      if (g.peer != null && (typeof g.peer !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{20,80}$/.test(g.peer))) {
        throw new TypeError(`grant ${i}: peer must be a PeerId`)
      }
      if (!Array.isArray(g.allow) || g.allow.length === 0 || !g.allow.every(isMethodPattern)) {
        throw new TypeError(`grant ${i}: allow must list module.function, module.* or *`)
      }
    })
    return grants.map(g => ({ ...g, allow: [...g.allow] }))
  }

  /** Default deny: true only if a grant covers `method` for this bridge of `overlay` (whose pin is fresh). */
  allows (overlay: string | undefined, peer: string, method: string): boolean {
    if (overlay == null || !isMethodName(method)) {
      return false
    }
    return this.grants.some(g => g.overlay === overlay && (g.peer == null || g.peer === peer) && g.allow.some(p => matches(p, method)))
  }

  list (): FederatedRpcGrant[] {
    return this.grants.map(g => ({ ...g, allow: [...g.allow] }))
  }
}
