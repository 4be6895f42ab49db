/**
 * A connection encrypter that wraps Noise and holds the secured connection
 * back until the admission exchange succeeds inside it. Because libp2p only
 * negotiates the stream muxer after the encrypter returns, a peer that fails
 * admission never reaches identify, the DHT, gossipsub, ping or any other
 * protocol: its connection is aborted and it is told nothing.
 */
import { pbStream } from '@libp2p/utils'
import { MAX_ADMIT_FRAME_BYTES } from './constants.ts'
import { isCutRead } from './cut-read.ts'
import { AdmissionError } from './errors.ts'
import { admitAsInitiator, admitAsResponder } from './exchange.ts'
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
      const signal = AbortSignal.any([AbortSignal.timeout(state.deadlineMs), ...(options?.signal != null ? [options.signal] : [])])
      // pbStream's unwrap is its lpStream's: unread bytes go back to the connection for the muxer
      const pb = pbStream(secured.connection, { maxDataLength: MAX_ADMIT_FRAME_BYTES })
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
        log('%s admission of %s refused: %s', direction, remote, reason)
        // `refused` costs nothing (offenceOf): the peer is named so the operator's log says who
        state.recordRefused(remote, reason, direction, err instanceof AdmissionError ? err.expiredForMs : undefined, err instanceof AdmissionError ? err.overlay : undefined)
        secured.connection.abort(new AdmissionError(reason))
        throw new AdmissionError(reason)
      }
    }

    return {
      protocol: noise.protocol,
      async secureOutbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
        return admit('outbound', await noise.secureOutbound(connection, options), options)
      },
      async secureInbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
        return admit('inbound', await noise.secureInbound(connection, options), options)
      }
    }
  }
}
