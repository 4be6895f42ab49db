/**
 * A connection encrypter that wraps Noise and holds the secured connection
 * back until the admission exchange succeeds inside it. Because libp2p only
 * negotiates the stream muxer after the encrypter returns, a peer that fails
 * admission never reaches identify, the DHT, gossipsub, ping or any other
 * protocol: its connection is aborted and it is told nothing.
 */
import { lengthPrefixed } from '../core/length-prefix.ts'
import { pbStream } from '@libp2p/utils'
import { MAX_ADMIT_FRAME_BYTES } from './constants.ts'
import { isCutRead } from './cut-read.ts'
import { AdmissionError, refusalDetailOf } from './errors.ts'
import { admitAsInitiator, admitAsResponder } from './exchange.ts'
import { loopLag, patientTimeout, starvedWithin } from '../core/loop-lag.ts'
import type { AdmissionState } from './state.ts'
import type { ComponentLogger, ConnectionEncrypter, MessageStream, PrivateKey, SecureConnectionOptions, SecuredConnection } from '@libp2p/interface'

export interface AdmittingEncrypterComponents {
  privateKey: PrivateKey
  logger: ComponentLogger
}

type EncrypterFactory = (components: any) => ConnectionEncrypter

export function admittingEncrypter (inner: EncrypterFactory, state: AdmissionState): (components: AdmittingEncrypterComponents) => ConnectionEncrypter {
  return (components) => {
    const noise = inner(components)
    const log = components.logger.forComponent('tempus:admission')

    const admit = async (direction: 'inbound' | 'outbound', secured: SecuredConnection, options?: SecureConnectionOptions): Promise<SecuredConnection> => {
      const remote = secured.remotePeer.toString()
      // moved on while this node's own loop runs late (a handshake thrown away for our own
      // lateness is redone from the start, on a host that has the least time for it)
      const wait = patientTimeout(state.deadlineMs)
      const signal = AbortSignal.any([wait.signal, ...(options?.signal != null ? [options.signal] : [])])
      // how late our own loop runs meanwhile: a deadline missed while it ran late may be ours
      const lag = loopLag.watch()
      // pbStream's unwrap is its lpStream's: unread bytes go back to the connection for the muxer
      const pb = pbStream(secured.connection, lengthPrefixed({ maxDataLength: MAX_ADMIT_FRAME_BYTES }))
      try {
        if (state.denies(remote)) {
          throw new AdmissionError('refused', 'peer is revoked, banned or quarantined')
        }
        const ctx = { state, privateKey: components.privateKey, remotePeer: secured.remotePeer }
        const admitted = direction === 'outbound'
          ? await admitAsInitiator(pb, ctx, { signal })
          : await admitAsResponder(pb, ctx, { signal })
        state.recordAdmitted(remote, admitted.claims, false, admitted.token, admitted.keyCertificate, direction)
        return { ...secured, connection: pb.unwrap() }
      } catch (err: any) {
        // a stall until the deadline is the peer's doing; the exchange names every fault of the
        // peer's bytes (its reads mark them, exchange.ts); anything else (a reset, a close, a
        // connection this side aborted, a fault of this node's own) is nobody's
        const reason = err instanceof AdmissionError ? err.reason : (signal.aborted ? 'timeout' : 'closed')
        if (!(err instanceof AdmissionError) && !signal.aborted && !isCutRead(err)) {
          log.error('%s admission of %s ended by an error of this node, not the peer\'s: %e', direction, remote, err)
        }
        // whichever deadline fell (the exchange's, or the upgrade's around it), one that fell
        // while this node's own loop ran late may be ours
        const starved = reason === 'timeout' && starvedWithin(lag, state.deadlineMs)
        if (starved) {
          log('%s admission of %s timed out while this node\'s event loop ran %d ms late in all: not charged', direction, remote, Math.round(lag.lateMs()))
        } else {
          log('%s admission of %s refused: %s%s', direction, remote, reason, err instanceof AdmissionError && refusalDetailOf(err).why != null ? ` (${err.message})` : '')
        }
        // `refused` costs nothing (offenceOf): the peer is named so the operator's log says who
        state.recordRefused(remote, reason, direction, { ...refusalDetailOf(err), starved })
        secured.connection.abort(new AdmissionError(reason))
        throw new AdmissionError(reason)
      } finally {
        wait.close()
        lag.close()
      }
    }

    return {
      protocol: noise.protocol,
      async secureOutbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
        return admit('outbound', await noise.secureOutbound(connection, options), options)
      },
      async secureInbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
        // counted from Noise's first byte to the end of the exchange: the gater refuses new
        // inbound connections while one of these runs starved (inbound-load.ts)
        const handshake = state.inbound.begin()
        try {
          return await admit('inbound', await noise.secureInbound(connection, options), options)
        } finally {
          handshake.end()
        }
      }
    }
  }
}
