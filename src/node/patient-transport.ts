/**
 * A transport whose connection deadlines do not fall on this node's own
 * lateness. libp2p gives each outbound address a fixed deadline (connect and
 * upgrade together) and each inbound upgrade another, both as
 * `AbortSignal.timeout`. On a starved host (more busy processes than cores:
 * the 100-process chaos run of issue #20, load 40–110 on 2 cores) a
 * handshake still under way at 6 s was aborted on the dialler (at 5 s on the
 * listener), and dialled again from the start: the Noise and
 * admission work of both sides thrown away, at the moment the host had the
 * least of it to spare, and the link back across a healed partition waited
 * for a handshake that no deadline let finish.
 *
 * Here each of those deadlines is a `patientTimeout` (core/loop-lag.ts): it
 * falls at its nominal time when this process's loop kept up, and is moved
 * on (at most `extensions` times) when it ran late in all by a quarter of
 * the deadline or more, since the peer's bytes may then have sat unread in
 * our socket. libp2p's own deadlines are set to the nominal ones times
 * (1 + extensions) (`hardCaps`), a bound no wait passes. A peer that never
 * answers is still dropped at the nominal time by a node that keeps up, so
 * a slow-handshake attacker gains nothing: the extensions are granted by
 * this node's own lateness, which the peer cannot see or cause any more
 * than by loading it with work that its other limits already bound.
 */
import { transportSymbol } from '@libp2p/interface'
import { loopLag, patientTimeout } from '../core/loop-lag.ts'
import type { LoopLagProbe, PatientTimeout } from '../core/loop-lag.ts'
import type { Connection, CreateListenerOptions, DialTransportOptions, Listener, MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface PatientTransportInit {
  /** one outbound address's connect and upgrade, when this node keeps up, ms */
  addressDialMs: number
  /** one inbound connection's upgrade, when this node keeps up, ms */
  inboundUpgradeMs: number
  /** how many times a deadline may be moved on; @default HANDSHAKE_EXTENSIONS */
  extensions?: number
  /** the loop's lateness; @default the process-wide probe */
  probe?: LoopLagProbe
  /** a deadline was moved on (this node ran late) */
  onExtended?: (direction: 'inbound' | 'outbound') => void
}

/** how many times a handshake's deadline may be moved on by this node's own lateness */
export const HANDSHAKE_EXTENSIONS = 2

/**
 * libp2p's own deadlines for the patient ones: the nominal times (1 +
 * extensions) over, so they never cut a wait the patient deadline still
 * allows, and still bound every wait.
 */
export function hardCaps (nominal: { dialMs: number, addressDialMs: number, inboundUpgradeMs: number }, extensions = HANDSHAKE_EXTENSIONS): { dialTimeout: number, addressDialTimeout: number, inboundUpgradeTimeout: number } {
  const times = 1 + extensions
  return { dialTimeout: nominal.dialMs * times, addressDialTimeout: nominal.addressDialMs * times, inboundUpgradeTimeout: nominal.inboundUpgradeMs * times }
}

type TransportFactory = (components: any) => Transport

export function patientTransport (inner: TransportFactory, init: PatientTransportInit): TransportFactory {
  const extensions = init.extensions ?? HANDSHAKE_EXTENSIONS
  const probe = init.probe ?? loopLag
  const deadline = (ms: number): PatientTimeout => patientTimeout(ms, extensions, probe)

  return (components) => {
    const transport = inner(components)

    /** the listener's upgrader, each inbound upgrade under a patient deadline */
    const patientInbound = (upgrader: Upgrader): Upgrader => ({
      upgradeOutbound: async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeOutbound']>[1]) => await upgrader.upgradeOutbound(maConn, opts),
      upgradeInbound: async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeInbound']>[1]): Promise<void> => {
        const wait = deadline(init.inboundUpgradeMs)
        try {
          await upgrader.upgradeInbound(maConn, { ...opts, signal: AbortSignal.any([wait.signal, ...(opts.signal != null ? [opts.signal] : [])]) })
        } finally {
          wait.close()
          for (let i = 0; i < wait.extensions(); i++) init.onExtended?.('inbound')
        }
      },
      createInboundAbortSignal: signal => upgrader.createInboundAbortSignal(signal),
      getStreamMuxers: () => upgrader.getStreamMuxers(),
      getConnectionEncrypters: () => upgrader.getConnectionEncrypters()
    })

    return {
      [Symbol.toStringTag]: transport[Symbol.toStringTag],
      [transportSymbol]: true,
      dialFilter: (addrs: Multiaddr[]) => transport.dialFilter(addrs),
      listenFilter: (addrs: Multiaddr[]) => transport.listenFilter(addrs),
      createListener: (options: CreateListenerOptions): Listener => transport.createListener({ ...options, upgrader: patientInbound(options.upgrader) }),
      async dial (ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
        // the address's connect and upgrade, as libp2p's per-address deadline covered them
        const wait = deadline(init.addressDialMs)
        try {
          return await transport.dial(ma, { ...options, signal: AbortSignal.any([wait.signal, options.signal]) })
        } finally {
          wait.close()
          for (let i = 0; i < wait.extensions(); i++) init.onExtended?.('outbound')
        }
      }
    }
  }
}

