/**
 * The addresses this node itself listens on, for the dialler to refuse.
 *
 * A peer's record may name an address that, dialled from here, reaches this
 * node: another host's loopback address when every node listens on the same
 * port (a fleet's fixed port, the chaos harness's 4001), or a stale or
 * hostile record naming this node's own address. Such a dial never reaches
 * the peer: it runs a Noise handshake with ourselves, both sides in this
 * process, and fails on the identity check. In the 100-process chaos run
 * that was about one failed handshake in seven (5,700 self-dials, each two
 * handshakes' CPU on a saturated machine), and the dialler tried the
 * addresses one after the other, so a self-dial listed first spent part of
 * the dial's time before the peer's real address was tried.
 *
 * An address is this node's own when it names a TCP port one of the node's
 * listeners is bound to, on a host that is one of those listeners'
 * addresses (a wildcard listener's: every interface of the host, loopback
 * included) or the unspecified address (which the kernel takes as a local
 * one). The listeners are the ones libp2p announces as they start and stop
 * (`watch`); made before the libp2p node, since its gater asks it.
 */
import { getNetConfig } from '@libp2p/utils'
import type { Libp2pEvents, TypedEventTarget } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** what the check reads of a transport listener */
interface Listening {
  getAddrs: () => Multiaddr[]
}

/** `host` and TCP `port` of a multiaddr, or undefined when it is not an IP/TCP address */
function hostPort (ma: Multiaddr): { host: string, port: number } | undefined {
  try {
    const config = getNetConfig(ma)
    return (config.type === 'ip4' || config.type === 'ip6') && config.protocol === 'tcp' && config.port != null
      ? { host: config.host.toLowerCase(), port: config.port }
      : undefined
  } catch {
    // a multiaddr that names no host (a relay circuit, a unix socket)
    return undefined
  }
}

const UNSPECIFIED = new Set(['0.0.0.0', '::'])

export interface OwnAddressesInit {
  /** a monotonic clock, ms. @default performance.now */
  now?: () => number
  /**
   * how long the listeners' expanded addresses are reused, ms: expanding a
   * wildcard reads the host's interfaces (a system call), and the gater asks
   * once per address of every dial. @default 5000
   */
  cacheMs?: number
}

export class OwnAddresses {
  private readonly listeners = new Set<Listening>()
  private readonly now: () => number
  private readonly cacheMs: number
  private cached?: { at: number, addrs: Array<{ host: string, port: number }> }

  constructor (init: OwnAddressesInit = {}) {
    this.now = init.now ?? (() => performance.now())
    this.cacheMs = init.cacheMs ?? 5_000
  }

  /** Follow the node's listeners as libp2p starts and closes them. */
  watch (events: TypedEventTarget<Pick<Libp2pEvents, 'transport:listening' | 'transport:close'>>): void {
    events.addEventListener('transport:listening', evt => { this.listeners.add(evt.detail); this.cached = undefined })
    events.addEventListener('transport:close', evt => { this.listeners.delete(evt.detail); this.cached = undefined })
  }

  /** the listeners' addresses as host and port, expanded at most every `cacheMs` */
  private listening (): Array<{ host: string, port: number }> {
    const now = this.now()
    if (this.cached == null || now - this.cached.at >= this.cacheMs) {
      // a wildcard listener expands to the host's interfaces as they are now
      const addrs = [...this.listeners].flatMap(l => l.getAddrs()).map(hostPort).filter((a): a is { host: string, port: number } => a != null)
      this.cached = { at: now, addrs }
    }
    return this.cached.addrs
  }

  /** Does dialling `ma` reach this node itself? */
  readonly isOwn = (ma: Multiaddr): boolean => {
    const target = hostPort(ma)
    if (target == null) {
      return false
    }
    for (const mine of this.listening()) {
      if (mine.port === target.port && (mine.host === target.host || UNSPECIFIED.has(target.host))) {
        return true
      }
    }
    return false
  }
}
