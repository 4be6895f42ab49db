/**
 * `/tempus/resume/1.0.0`: the connection encrypter tempus nodes select
 * first. A dialler that holds a ticket of the peer it dials (and the
 * secret handed beside it) resumes before Noise (resume-handshake.ts): one
 * X25519 exchange and symmetric crypto, no identity signature, no token
 * verified, and the muxer agreed in the same messages. Without one, it
 * says so in one byte and Noise with the full admission exchange follows
 * at once on the same connection (no round trip added); a responder that
 * will not resume says why, and the same follows. Never less than the
 * full exchange: a peer this node denies is refused either way, and
 * every refusal of a ticket falls back to Noise.
 *
 * The hello rides with the security proposal where it can (`EarlyHellos`):
 * a dialler that holds a ticket of the peer named in the address it dials
 * writes the hello right behind multistream-select's header and its
 * proposal of `/tempus/resume/1.0.0`, in the same write, instead of after
 * the listener's echo: a resumed dial waits for one answer fewer. Only a
 * peer that granted a ticket (so speaks this protocol) gets one; were it to
 * answer `na` after all (a downgrade within the ticket's two minutes), it
 * reads the hello as a proposal and closes, and the ticket is dropped: the
 * next dial runs the full exchange.
 *
 * A failed resumption charges nobody: until the binder checks, the
 * presenter is anonymous, and a recorded hello replayed by someone on the
 * path fails at the confirm, which only the ticket's subject can send
 * (Noise's own failures are not charged either).
 */
import { lengthPrefixed, withLengthPrefix } from '../core/length-prefix.ts'
import { MULTISTREAM_HEADER } from '../core/negotiation-guard.ts'
import { lpStream } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'
import { peerIdFromString } from '@libp2p/peer-id'
import { AdmissionError } from './errors.ts'
import { patientTimeout } from '../core/loop-lag.ts'
import { CipherState, Ephemeral, MAX_RESUME_MESSAGE_BYTES, RESUME_PROTOCOL, ResumeWireError, confirmBody, decodeAcceptBody, decodeAnswer, decodeConfirm, decodeFirst, encodeAccept, encodeAcceptBody, encodeConfirm, encodeFull, encodeHello, encodeRefuse, helloBinds, sessionKeys, tokenTag } from './resume-handshake.ts'
import { SealedMessageStream } from './sealed-stream.ts'
import type { ResumeHello, ResumeRefusal } from './resume-handshake.ts'
import type { AdmissionState } from './state.ts'
import type { TicketContents } from './ticket.ts'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Resumable } from './ticket-desk.ts'
import type { AbortOptions, PeerId, ComponentLogger, ConnectionEncrypter, MessageStream, SecureConnectionOptions, SecuredConnection, StreamMuxerFactory, Upgrader } from '@libp2p/interface'

export interface ResumingEncrypterComponents {
  logger: ComponentLogger
  upgrader: Upgrader
}

type EncrypterFactory = (components: any) => ConnectionEncrypter

/**
 * Where the gater, which sees each outbound connection before its
 * negotiation starts (`denyOutboundConnection`), asks the resuming
 * encrypter to send its hello with the proposal. `prepare` is set by the
 * encrypter once libp2p made it; unset, nothing rides early.
 */
export class EarlyHellos {
  prepare?: (peer: PeerId, connection: MessageStream) => void
}

/** what multistream-select's `select` writes first when this protocol heads the list: the header and the proposal, one write */
const RESUME_PROPOSAL = Buffer.concat([withLengthPrefix(Buffer.from(`${MULTISTREAM_HEADER}\n`)), withLengthPrefix(Buffer.from(`${RESUME_PROTOCOL}\n`))])

/** a hello made before the negotiation, for the connection it was made for */
interface PreparedHello {
  held: Resumable
  ephemeral: Ephemeral
  hello: Uint8Array
  /** it went out with the proposal */
  sent: boolean
  /** `secureOutbound` took it: the resumption ran (or ends) on it */
  taken: boolean
}

/** `full` (Noise with the admission exchange inside it), preceded by a resumption on a ticket where one is held. */
export function resumingEncrypter (full: EncrypterFactory, state: AdmissionState, early?: EarlyHellos): (components: ResumingEncrypterComponents & Record<string, any>) => ConnectionEncrypter {
  return (components) => {
    const inner = full(components)
    const log = components.logger.forComponent('tempus:admission:resume')
    const muxers = (): Map<string, StreamMuxerFactory> => components.upgrader.getStreamMuxers()
    const prepared = new WeakMap<MessageStream, PreparedHello>()

    if (early != null) {
      early.prepare = (peer, connection) => {
        const remote = peer.toString()
        const held = state.denies(remote) ? undefined : state.tickets?.resumable(remote, state.verifier.current?.epoch)
        const tcp = connection as MessageStream & { send?: (data: Uint8Array | Uint8ArrayList) => boolean }
        const send = tcp.send
        if (held == null || typeof send !== 'function') {
          return
        }
        const ephemeral = new Ephemeral()
        const p: PreparedHello = { held, ephemeral, hello: encodeHello({ ephemeral: ephemeral.publicRaw, ticket: held.ticket, muxers: [...muxers().keys()] }, held.secret), sent: false, taken: false }
        prepared.set(connection, p)
        // the upgrader's first write: when it is the proposal of this protocol, the hello goes with it.
        // Not unpatched after: libp2p's metrics wrap `send` in turn once the upgrade starts
        let first = true
        tcp.send = function (this: unknown, data: Uint8Array | Uint8ArrayList) {
          if (!first) {
            return send.call(this, data)
          }
          first = false
          const bytes = data instanceof Uint8Array ? data : data.subarray()
          if (!RESUME_PROPOSAL.equals(bytes)) {
            return send.call(this, data)
          }
          p.sent = true
          // one buffer: the transport writes each buffer of a list with a socket write of its own
          return send.call(this, Buffer.concat([bytes, withLengthPrefix(p.hello)]))
        }
        // a hello that went out and never reached the resumption (the listener did not select it): not presented again
        connection.addEventListener('close', () => {
          if (p.sent && !p.taken) {
            state.tickets?.drop(remote, held.ticket)
          }
        }, { once: true })
      }
    }

    /**
     * the admission deadline, cleared when the handshake ends (a timeout signal left to fire
     * builds an error for nothing); moved on while this node's own loop runs late, as the full
     * exchange's is (encrypter.ts)
     */
    const deadlineOf = (options?: AbortOptions): { signal: AbortSignal, clear: () => void } => {
      const deadline = new AbortController()
      const wait = patientTimeout(state.deadlineMs)
      wait.signal.addEventListener('abort', () => { deadline.abort(new AdmissionError('timeout', `no resumption within ${state.deadlineMs} ms`)) }, { once: true })
      return { signal: options?.signal == null ? deadline.signal : AbortSignal.any([deadline.signal, options.signal]), clear: () => { wait.close() } }
    }

    /** a resumption that failed past its refusal: the connection is aborted, nobody charged */
    const failed = (connection: MessageStream, direction: string, err: any): never => {
      const why = err instanceof ResumeWireError || err instanceof AdmissionError ? err.message : `${err?.name ?? 'Error'}: ${err?.message ?? err}`
      log('%s resumption failed: %s', direction, why)
      connection.abort(err instanceof Error ? err : new Error(String(err)))
      throw err instanceof AdmissionError ? err : new AdmissionError('closed', `the resumption handshake failed: ${why}`)
    }

    return {
      protocol: RESUME_PROTOCOL,

      async secureOutbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
        const remotePeer = options?.remotePeer
        const remote = remotePeer?.toString()
        const ready = prepared.get(connection)
        if (ready != null) {
          prepared.delete(connection)
          ready.taken = true
        }
        const held = ready?.held ?? (remote == null || state.denies(remote) ? undefined : state.tickets?.resumable(remote, state.verifier.current?.epoch))
        const lp = lpStream(connection, lengthPrefixed({ maxDataLength: MAX_RESUME_MESSAGE_BYTES }))
        if (remotePeer == null || remote == null || held == null) {
          await lp.write(encodeFull(), options)
          return await inner.secureOutbound(lp.unwrap(), options)
        }
        let resumed: SecuredConnection | undefined
        const deadline = deadlineOf(options)
        try {
          resumed = await resumeAsInitiator(lp, remotePeer, held, deadline.signal, ready)
        } catch (err: any) {
          state.tickets?.drop(remote, held.ticket)
          return failed(connection, 'outbound', err)
        } finally {
          deadline.clear()
        }
        return resumed ?? await inner.secureOutbound(lp.unwrap(), options)
      },

      async secureInbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
        const lp = lpStream(connection, lengthPrefixed({ maxDataLength: MAX_RESUME_MESSAGE_BYTES }))
        const deadline = deadlineOf(options)
        // counted as an inbound handshake while it runs (inbound-load.ts); Noise's fallback counts its own
        const handshake = state.inbound.begin()
        let resumed: SecuredConnection | undefined
        try {
          resumed = await resumeAsResponder(lp, deadline.signal, options?.remotePeer?.toString())
        } catch (err: any) {
          return failed(connection, 'inbound', err)
        } finally {
          deadline.clear()
          handshake.end()
        }
        return resumed ?? await inner.secureInbound(lp.unwrap(), options)
      }
    }

    /** The initiator's side: a resumed connection, or none when the responder refused the ticket (the full exchange follows). */
    async function resumeAsInitiator (lp: LengthPrefixedStream, remotePeer: PeerId, held: Resumable, signal: AbortSignal, ready?: PreparedHello): Promise<SecuredConnection | undefined> {
      const remote = remotePeer.toString()
      const ephemeral = ready?.ephemeral ?? new Ephemeral()
      const hello = ready?.hello ?? encodeHello({ ephemeral: ephemeral.publicRaw, ticket: held.ticket, muxers: [...muxers().keys()] }, held.secret)
      if (ready?.sent !== true) {
        await lp.write(hello, { signal })
      }
      const answer = decodeAnswer((await lp.read({ signal })).subarray())
      if (answer.type === 'refuse') {
        // a restart, a spent ticket, a rotation: the full exchange, on this connection
        state.tickets?.drop(remote, held.ticket)
        state.noteResumption?.('declined-by-peer')
        log('%s would not resume (%s): the full exchange follows', remote, answer.reason)
        return undefined
      }
      const keys = sessionKeys(held.secret, await ephemeral.agree(answer.ephemeral), hello, answer.ephemeral)
      const sending = new CipherState(keys.outbound)
      const receiving = new CipherState(keys.inbound)
      let body
      try {
        body = decodeAcceptBody(receiving.open(answer.sealed))
      } catch {
        // whoever answered did not open the ticket: not its sealer
        throw new AdmissionError('closed', 'the accept does not open with the ticket\'s secret')
      }
      const muxer = muxers().get(body.muxer)
      if (muxer == null) {
        throw new AdmissionError('closed', `the responder chose the muxer ${JSON.stringify(body.muxer)}, which this node did not offer`)
      }
      // the confirm names the token of the responder's this node recorded: the responder re-presents a newer one
      await lp.write(encodeConfirm(sending.seal(confirmBody(tokenTag(held.token)))), { signal })
      oweTokenIfNewer(remote, body.yourToken)
      if (body.grant != null) {
        state.tickets?.hold(remote, body.grant, body.grantSecret, held)
      }
      state.recordAdmitted(remote, held.claims, false, held.token, '', 'outbound')
      state.noteResumption?.('resumed')
      return { connection: new SealedMessageStream(lp.unwrap(), sending, receiving), remotePeer, streamMuxer: muxer }
    }

    /** The responder's side: a resumed connection, or none when the full exchange is to follow (asked for, or the ticket refused). */
    async function resumeAsResponder (lp: LengthPrefixedStream, signal: AbortSignal, expected?: string): Promise<SecuredConnection | undefined> {
      const helloBytes = (await lp.read({ signal })).subarray()
      const first = decodeFirst(helloBytes)
      if (first.type === 'full') {
        return undefined
      }
      const judged = judge(first, helloBytes)
      if (judged === 'denied') {
        throw new AdmissionError('refused', 'peer is revoked, banned or quarantined')
      }
      if (typeof judged === 'string') {
        state.noteResumption?.(judged)
        await lp.write(encodeRefuse(judged), { signal })
        return undefined
      }
      const { opened, muxer } = judged
      if (expected != null && expected !== opened.subject) {
        // the transport named the peer it expects (none does for TCP today): a ticket of another is not it
        throw new AdmissionError('closed', 'the ticket\'s subject is not the peer this connection expects')
      }
      const ephemeral = new Ephemeral()
      const keys = sessionKeys(judged.secret, await ephemeral.agree(first.ephemeral), helloBytes, ephemeral.publicRaw)
      const sending = new CipherState(keys.inbound)
      const receiving = new CipherState(keys.outbound)
      // a fresh ticket for the next reconnect, bounded by the token this one vouched for
      const grant = state.tickets?.grant(opened.issuer, opened.subject, opened)
      await lp.write(encodeAccept(ephemeral.publicRaw, sending.seal(encodeAcceptBody({ muxer: muxer.protocol, yourToken: tokenTag(opened.token), grant: grant?.ticket, grantSecret: grant?.secret }))), { signal })
      let yourToken: Uint8Array
      try {
        yourToken = receiving.open(decodeConfirm((await lp.read({ signal })).subarray()))
      } catch (err: any) {
        // a recorded hello replayed: whoever sent it holds no ephemeral key of the subject's
        throw new AdmissionError('closed', `the confirm does not open: ${err.message}`)
      }
      oweTokenIfNewer(opened.subject, yourToken)
      state.recordAdmitted(opened.subject, opened.claims, false, opened.token, '', 'inbound')
      state.noteResumption?.('resumed')
      return { connection: new SealedMessageStream(lp.unwrap(), sending, receiving), remotePeer: peerIdFromString(opened.subject), streamMuxer: muxer }
    }

    /** Would this node resume on this hello? Its ticket, its binder, its subject's standing, a muxer in common. */
    /**
     * The other side recorded this node with the token its ticket chain began with: when this
     * node holds a newer one, it re-presents it on the connection once it opens (else the
     * connection would be closed when the old one lapses).
     */
    function oweTokenIfNewer (peer: string, theirs: Uint8Array): void {
      const own = state.ownToken?.token
      if (own != null && !Buffer.from(tokenTag(own)).equals(theirs)) {
        state.oweToken(peer)
      }
    }

    function judge (hello: ResumeHello, helloBytes: Uint8Array): { opened: TicketContents, secret: Uint8Array, muxer: StreamMuxerFactory } | ResumeRefusal {
      const self = state.ownToken?.claims.sub
      const desk = state.tickets
      if (self == null || desk == null) {
        return 'no-token'
      }
      const opened = desk.open(self, undefined, hello.ticket, state.verifier.current?.epoch)
      if (typeof opened === 'string') {
        return opened
      }
      if (opened.secret == null) {
        return 'no-ticket-secret'
      }
      if (!helloBinds(opened.secret, helloBytes)) {
        return 'bad-binder'
      }
      // the presenter holds the secret: it is the ticket's subject
      if (state.denies(opened.subject)) {
        // named, as the full exchange names it: `refused` costs nothing
        state.recordRefused(opened.subject, 'refused', 'inbound')
        return 'denied'
      }
      const name = hello.muxers.find(m => muxers().has(m))
      const muxer = name == null ? undefined : muxers().get(name)
      if (muxer == null) {
        return 'no-muxer'
      }
      const used = desk.use(opened)
      if (typeof used === 'string') {
        return used
      }
      return { opened, secret: opened.secret, muxer }
    }
  }
}
