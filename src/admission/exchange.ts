/**
 * The admission exchange, run inside the Noise channel before the stream
 * muxer, so no other protocol (identify, the DHT, gossipsub, ping) can run
 * on a connection that was not admitted. One round trip:
 *
 *   I → R  Hello(token_I, nonce_I)
 *   R → I  Hello(token_R, nonce_R, sig_R(nonce_I ‖ H(token_R)))   only if token_I verifies
 *   I → R  Proof(sig_I(nonce_R ‖ H(token_I)))                     only if token_R and sig_R verify
 *
 * The responder says nothing to a dialler whose token does not verify (for
 * a stolen token, the Noise-authenticated PeerId is not its subject), so a
 * stranger learns nothing.
 *
 * Rotation. A genuine token of the remote that is only of a rotated epoch is
 * answered once with `retry`, so an honest holder re-fetches and goes on on
 * the same connection. A `retry` makes the other side spend an issuer
 * request, so it must prove what it claims: the responder's retry carries
 * its own token of the newer epoch (the issuer signs only with its current
 * key, and a certificate alone proves only that a key exists, announced
 * perhaps but not current); the initiator's retry is backed by the token it
 * already showed. A retry that does not prove an epoch newer than the token
 * we sent is refused and costs its sender, and the re-fetch it triggers is
 * the token manager's one per epoch.
 *
 * Resumption. After a full exchange each side holds a ticket the other
 * sealed for it (`grant`: the responder's in its hello, the initiator's in
 * its proof). On a later connection the initiator presents the
 * responder's ticket in its hello (which still carries its token and
 * nonce); a responder that opens it and holds a ticket of the initiator's
 * answers with that ticket alone, and the initiator checks it: AES-GCM on
 * both sides, no signature. Either side may refuse the other's ticket;
 * the full exchange then goes on in the same connection, never anything
 * less.
 */
import { createHash, randomBytes } from 'node:crypto'
import { ADMIT_PROTOCOL, MAX_KEY_CERT_BYTES, MAX_TOKEN_BYTES, NONCE_BYTES } from './constants.ts'
import { DOMAINS } from '../core/domains.ts'
import { AdmissionError } from './errors.ts'
import { keyObjectOf, publicKeyFromRawBytes, signDomain, verifyDomain } from '../core/keys.ts'
import { decodeFailsWith } from '../core/pb-codec.ts'
import { isFramingFault } from './cut-read.ts'
import { AdmitHello, AdmitProof } from './pb/admission.ts'
import { MAX_TICKET_BYTES, TICKET_SECRET_BYTES } from './ticket.ts'
import { offenceOf } from './refusal-cost.ts'
import type { AdmissionState, OwnToken } from './state.ts'
import type { TokenClaims } from './token.ts'
import type { TicketContents, TicketRefusal } from './ticket.ts'
import type { PeerId, PrivateKey, AbortOptions } from '@libp2p/interface'
import type { PbCodec } from '../core/pb-codec.ts'
import type { ProtobufStream } from '@libp2p/utils'

export interface ExchangeContext {
  state: AdmissionState
  privateKey: PrivateKey
  remotePeer: PeerId
}

function tokenHash (token: string): Uint8Array {
  return createHash('sha256').update(token).digest()
}

/** our proof: a signature over (their nonce ‖ H(our token)) with our identity key */
function signProof (ctx: ExchangeContext, theirNonce: Uint8Array, myToken: string): Uint8Array<ArrayBuffer> {
  return signDomain(keyObjectOf(ctx.privateKey), DOMAINS.admitProof, theirNonce, tokenHash(myToken))
}

// bytes that do not decode are the sender's doing (src/core/pb-codec.ts); a cut read is not (readFrame)
const malformed = (): AdmissionError => new AdmissionError('malformed', 'admission frame does not decode')
const HELLO = decodeFailsWith(AdmitHello, malformed)
const PROOF = decodeFailsWith(AdmitProof, malformed)

async function readFrame<T> (pb: ProtobufStream, codec: PbCodec<T>, options: AbortOptions): Promise<T> {
  try {
    return await pb.read(codec, options)
  } catch (err: any) {
    if (err instanceof AdmissionError) {
      throw err
    }
    if (options.signal?.aborted === true) {
      throw new AdmissionError('timeout')
    }
    if (isFramingFault(err)) {
      throw new AdmissionError('malformed', 'admission frame too large')
    }
    // the remote closed or reset: it refused us, or went away. That is no
    // misbehaviour of its own, so it costs it no suspicion.
    throw new AdmissionError('refused', `the remote closed the exchange: ${err?.name ?? 'error'}`)
  }
}

function checkHello (hello: AdmitHello): void {
  if (hello.version !== ADMIT_PROTOCOL || hello.ticket.length > MAX_TICKET_BYTES || hello.grant.length > MAX_TICKET_BYTES || !isGrantSecret(hello.grantSecret)) {
    throw new AdmissionError('malformed', 'bad hello')
  }
  if (isResumeAccept(hello)) {
    // a responder taking a resumption says nothing else
    if (hello.token !== '' || hello.nonce.length !== 0 || hello.signature.length !== 0 || hello.retry || hello.keyCertificate !== '') {
      throw new AdmissionError('malformed', 'a resumption answer carries a ticket and a grant only')
    }
    return
  }
  if (hello.nonce.length !== NONCE_BYTES || hello.token.length > MAX_TOKEN_BYTES || hello.keyCertificate.length > MAX_KEY_CERT_BYTES) {
    throw new AdmissionError('malformed', 'bad hello')
  }
}

/** a responder's hello that takes the initiator's ticket */
function isResumeAccept (hello: AdmitHello): boolean {
  return hello.ticket.length > 0 && hello.nonce.length === 0
}

/** none, or a ticket's 32-byte secret */
function isGrantSecret (secret: Uint8Array): boolean {
  return secret.length === 0 || secret.length === TICKET_SECRET_BYTES
}

function checkProof (proof: AdmitProof): void {
  if (proof.grant.length > MAX_TICKET_BYTES || !isGrantSecret(proof.grantSecret) || (proof.resumed && proof.declined)) {
    throw new AdmissionError('malformed', 'bad proof frame')
  }
}

async function readHello (pb: ProtobufStream, options: AbortOptions): Promise<AdmitHello> {
  const hello = await readFrame(pb, HELLO, options)
  checkHello(hello)
  return hello
}

async function verifyRemoteToken (ctx: ExchangeContext, hello: AdmitHello, acceptRotated = false): Promise<TokenClaims> {
  return ctx.state.verifier.verify(hello.token, {
    sub: ctx.remotePeer.toString(),
    keyCertificate: hello.keyCertificate === '' ? undefined : hello.keyCertificate,
    acceptRotated
  })
}

function isRotated (err: unknown): boolean {
  return err instanceof AdmissionError && err.reason === 'rotated-key'
}

/** Does our token belong to the verifier's current epoch, so that it proves that epoch to a peer behind us? */
function provesCurrentEpoch (ctx: ExchangeContext, mine: OwnToken): boolean {
  const current = ctx.state.verifier.current
  return current != null && mine.claims.ep >= current.epoch
}

/**
 * Read the initiator's hello and verify its token. A genuine token of the
 * initiator that is only of a rotated epoch gets one `retry` hello carrying
 * our own token of the current epoch, the proof the initiator needs before
 * it re-fetches.
 */
async function receiveHello (pb: ProtobufStream, ctx: ExchangeContext, hello: AdmitHello, options: AbortOptions): Promise<{ hello: AdmitHello, claims: TokenClaims }> {
  try {
    return { hello, claims: await verifyRemoteToken(ctx, hello) }
  } catch (err: any) {
    if (!isRotated(err)) {
      throw err
    }
  }
  // a token the issuer signed, but is it the initiator's own and right in
  // every other respect? A stranger with someone's old token learns nothing
  const stale = await verifyRemoteToken(ctx, hello, true)
  const mine = await currentOwnToken(ctx, options)
  if (!provesCurrentEpoch(ctx, mine)) {
    // we could not fetch a token of the current epoch ourselves: nothing to
    // prove the retry with, and an unproven retry is what we refuse of others
    throw new AdmissionError('rotated-key', `the initiator's token is of epoch ${stale.ep}, and this node has no token of the current epoch ${ctx.state.verifier.current?.epoch ?? '?'} yet to prove that with`)
  }
  await pb.write({ version: ADMIT_PROTOCOL, token: mine.token, nonce: new Uint8Array(randomBytes(NONCE_BYTES)), keyCertificate: mine.keyCertificate, retry: true, signature: new Uint8Array(0) }, AdmitHello, options)
  const again = await readInitiatorHello(pb, options)
  try {
    return { hello: again, claims: await verifyRemoteToken(ctx, again) }
  } catch (err) {
    if (isRotated(err)) {
      // the initiator could not fetch a token of the proven epoch within its wait
      throw new AdmissionError('rotated-key', `after our retry the initiator still showed a token of a rotated epoch (this node's is ${mine.claims.ep})`)
    }
    throw err
  }
}

async function readInitiatorHello (pb: ProtobufStream, options: AbortOptions): Promise<AdmitHello> {
  const hello = await readHello(pb, options)
  if (hello.retry || hello.signature.length > 0 || hello.grant.length > 0 || isResumeAccept(hello)) {
    throw new AdmissionError('malformed', 'an initiator\'s hello carries no retry, signature or grant')
  }
  return hello
}

/**
 * The responder's `retry`: it moves us only if it proves an epoch newer
 * than the token we sent, with the responder's own token of that epoch
 * (signed by a root-certified key, naming the Noise-authenticated
 * responder). Verifying that token is what moves our verifier forward;
 * anything less (no token, a forged or borrowed one, an epoch we hold
 * already) is refused and charged as what it is.
 */
async function checkRetry (ctx: ExchangeContext, hello: AdmitHello, sent: OwnToken): Promise<void> {
  if (hello.token === '') {
    throw new AdmissionError('bad-proof', 'a retry that shows no token of a newer epoch')
  }
  let claims: TokenClaims
  try {
    claims = await verifyRemoteToken(ctx, hello)
  } catch (err) {
    // a stale, early or expired token is an honest holder's fault in a hello,
    // but a retry claims to prove a newer epoch: one that proves nothing is charged
    if (err instanceof AdmissionError && offenceOf(err.reason, err.expiredForMs) == null) {
      throw new AdmissionError('bad-proof', `a retry whose own token is ${err.reason} proves nothing`)
    }
    throw err
  }
  if (claims.ep <= sent.claims.ep) {
    throw new AdmissionError('bad-proof', 'a retry for an epoch this node holds already')
  }
}

/**
 * Our token for a hello, first brought up to the verifier's current epoch
 * (the token manager's one fetch per epoch; a node without one keeps what
 * it holds).
 */
async function currentOwnToken (ctx: ExchangeContext, options: AbortOptions): Promise<OwnToken> {
  await ctx.state.ensureOwnTokenCurrent(options.signal)
  return ownToken(ctx)
}

/** Send our hello (with our proof over their nonce, as responder). */
async function writeHello (pb: ProtobufStream, ctx: ExchangeContext, mine: OwnToken, nonce: Uint8Array, options: AbortOptions, theirNonce?: Uint8Array, tickets: { ticket?: Uint8Array, grant?: GrantFields } = {}): Promise<void> {
  const signature = theirNonce == null ? new Uint8Array(0) : signProof(ctx, theirNonce, mine.token)
  await pb.write({ version: ADMIT_PROTOCOL, token: mine.token, nonce: new Uint8Array(nonce), keyCertificate: mine.keyCertificate, retry: false, signature, ticket: bytes(tickets.ticket), ...(tickets.grant ?? NO_GRANT) }, AdmitHello, options)
}

/** a copy the codec's types take (none: empty) */
function bytes (b: Uint8Array | undefined): Uint8Array<ArrayBuffer> {
  return b == null ? new Uint8Array(0) : new Uint8Array(b)
}

/** A granted ticket and its secret, as the hello and the proof carry them. */
interface GrantFields {
  grant: Uint8Array<ArrayBuffer>
  grantSecret: Uint8Array<ArrayBuffer>
}

const NO_GRANT: GrantFields = { grant: new Uint8Array(0), grantSecret: new Uint8Array(0) }

/** A ticket of ours for the remote, which this exchange has just admitted, and its secret (none when tickets are off or its token is nearly spent). */
function grantFor (ctx: ExchangeContext, admitted: { token: string, claims: TokenClaims }): GrantFields {
  const self = ctx.state.ownToken?.claims.sub
  const granted = self == null ? undefined : ctx.state.tickets?.grant(self, ctx.remotePeer.toString(), admitted)
  return granted == null ? NO_GRANT : { grant: bytes(granted.ticket), grantSecret: bytes(granted.secret) }
}

/** Open a ticket the remote presented: ours, for it, of the current epoch, with uses left. */
function checkTicket (ctx: ExchangeContext, ticket: Uint8Array): TicketContents | TicketRefusal {
  const self = ctx.state.ownToken?.claims.sub
  const desk = ctx.state.tickets
  if (self == null || desk == null) {
    return 'not-for-this-link'
  }
  return desk.check(self, ctx.remotePeer.toString(), ticket, ctx.state.verifier.current?.epoch)
}

function resumedWith (opened: TicketContents): Admitted {
  // the token is of the current epoch (checked), whose key every member knows: no certificate needed
  return { claims: opened.claims, token: opened.token, keyCertificate: '', resumed: true }
}

async function verifyProof (ctx: ExchangeContext, signature: Uint8Array, myNonce: Uint8Array, remoteToken: string): Promise<void> {
  const key = ctx.remotePeer.publicKey
  if (key?.type !== 'Ed25519' || !verifyDomain(publicKeyFromRawBytes(key.raw), signature, DOMAINS.admitProof, myNonce, tokenHash(remoteToken))) {
    throw new AdmissionError('bad-proof')
  }
}

function ownToken (ctx: ExchangeContext): OwnToken {
  const own = ctx.state.ownToken
  if (own == null) {
    // without a token of our own we cannot be admitted; say nothing, close
    throw new AdmissionError('refused', 'this node holds no token yet')
  }
  return own
}

export interface Admitted {
  claims: TokenClaims
  token: string
  keyCertificate: string
  /** admitted on a resumption ticket, without the token and proof exchange */
  resumed?: boolean
}

export async function admitAsInitiator (pb: ProtobufStream, ctx: ExchangeContext, options: AbortOptions): Promise<Admitted> {
  const nonce = randomBytes(NONCE_BYTES)
  let mine = await currentOwnToken(ctx, options)
  const startEpoch = ctx.state.verifier.current?.epoch
  const remote = ctx.remotePeer.toString()
  const ticket = ctx.state.tickets?.present(remote, startEpoch)
  await writeHello(pb, ctx, mine, nonce, options, undefined, { ticket })
  let hello = await readHello(pb, options)
  if (isResumeAccept(hello)) {
    if (ticket == null) {
      throw new AdmissionError('malformed', 'a resumption answer to a hello that asked for none')
    }
    const opened = checkTicket(ctx, hello.ticket)
    if (typeof opened !== 'string') {
      ctx.state.tickets?.hold(remote, hello.grant, hello.grantSecret, opened)
      await pb.write({ signature: new Uint8Array(0), retry: false, keyCertificate: '', ...grantFor(ctx, opened), resumed: true, declined: false }, AdmitProof, options)
      ctx.state.noteResumption?.('resumed')
      return resumedWith(opened)
    }
    // its ticket of ours does not open (or is spent): the full exchange, in this connection
    ctx.state.tickets?.drop(remote, ticket)
    ctx.state.noteResumption?.(opened)
    if (opened === 'forged' || opened === 'not-for-this-link') {
      // nobody honest presents a ticket we did not seal for them
      throw new AdmissionError('bad-proof', `the responder presented a resumption ticket that is ${opened}`)
    }
    await pb.write({ signature: new Uint8Array(0), retry: false, keyCertificate: '', ...NO_GRANT, resumed: false, declined: true }, AdmitProof, options)
    hello = await readResponderHello(pb, options)
    if (isResumeAccept(hello)) {
      throw new AdmissionError('malformed', 'a second resumption answer')
    }
  } else if (ticket != null) {
    // the responder would not resume (a restart, a spent ticket, no ticket of ours): the full exchange goes on
    ctx.state.tickets?.drop(remote, ticket)
    ctx.state.noteResumption?.('declined-by-peer')
  }
  if (hello.retry) {
    // our epoch is rotated, says the responder: only if it proves it
    await checkRetry(ctx, hello, mine)
    // caught up (one issuer fetch per epoch); if the issuer did not give us
    // that epoch, we show what we hold and the responder refuses it as
    // `rotated-key`, which says why
    mine = await currentOwnToken(ctx, options)
    await writeHello(pb, ctx, mine, nonce, options)
    hello = await readResponderHello(pb, options)
  }
  let claims: TokenClaims
  try {
    claims = await verifyRemoteToken(ctx, hello)
  } catch (err: any) {
    if (!isRotated(err)) {
      throw err
    }
    const asOfStart = await verifyAsOfStart(ctx, hello, startEpoch, mine)
    if (asOfStart != null) {
      return await finishAsInitiator(pb, ctx, hello, asOfStart, nonce, mine, options)
    }
    if (!provesCurrentEpoch(ctx, mine)) {
      throw err
    }
    // the responder is behind: tell it once; the token we showed is the proof
    await pb.write({ signature: new Uint8Array(0), retry: true, keyCertificate: mine.keyCertificate }, AdmitProof, options)
    hello = await readResponderHello(pb, options)
    claims = await verifyRemoteToken(ctx, hello)
  }
  return await finishAsInitiator(pb, ctx, hello, claims, nonce, mine, options)
}

/** The responder's proof over our nonce checked, ours over its nonce sent. */
async function finishAsInitiator (pb: ProtobufStream, ctx: ExchangeContext, hello: AdmitHello, claims: TokenClaims, nonce: Uint8Array, mine: OwnToken, options: AbortOptions): Promise<Admitted> {
  await verifyProof(ctx, hello.signature, nonce, hello.token)
  // the responder is admitted: keep its ticket for us, and give it one of ours
  ctx.state.tickets?.hold(ctx.remotePeer.toString(), hello.grant, hello.grantSecret, { claims, token: hello.token })
  await pb.write({ signature: signProof(ctx, hello.nonce, mine.token), retry: false, keyCertificate: '', ...grantFor(ctx, { token: hello.token, claims }), resumed: false, declined: false }, AdmitProof, options)
  return { claims, token: hello.token, keyCertificate: hello.keyCertificate }
}

/**
 * An exchange is judged by the epoch that was current when it began. Our
 * verifier can move forward while the responder answers (a keys poll, a
 * newer token on another connection); the token we showed is then of the
 * old epoch and proves nothing newer to a responder on that epoch, so it
 * could neither retry nor be retried, and two honest nodes would refuse
 * each other mid-rotation. A responder's token of the epoch we began on
 * (and the same one we showed) is taken, as it would have been a moment
 * earlier; both sides re-present their next token on the live connection
 * once they hold one. A token older than the epoch we began on is
 * `rotated-key` as ever.
 */
async function verifyAsOfStart (ctx: ExchangeContext, hello: AdmitHello, startEpoch: number | undefined, mine: OwnToken): Promise<TokenClaims | undefined> {
  if (startEpoch == null || mine.claims.ep < startEpoch) {
    return undefined
  }
  const claims = await verifyRemoteToken(ctx, hello, true)
  return claims.ep >= startEpoch ? claims : undefined
}

/** A responder's hello after its one chance to retry: another retry proves nothing new. */
async function readResponderHello (pb: ProtobufStream, options: AbortOptions): Promise<AdmitHello> {
  const hello = await readHello(pb, options)
  if (hello.retry) {
    throw new AdmissionError('bad-proof', 'a second retry in one exchange')
  }
  return hello
}

export async function admitAsResponder (pb: ProtobufStream, ctx: ExchangeContext, options: AbortOptions): Promise<Admitted> {
  ownToken(ctx)
  const first = await readInitiatorHello(pb, options)
  const resumption = first.ticket.length > 0 ? await resumeAsResponder(pb, ctx, first, options) : undefined
  if (resumption != null && resumption !== 'declined') {
    return resumption
  }
  // the full exchange; after a declined resumption the initiator's first hello stands, and is verified now
  const { hello, claims } = resumption === 'declined'
    ? { hello: first, claims: await verifyRemoteToken(ctx, first) }
    : await receiveHello(pb, ctx, first, options)
  const nonce = randomBytes(NONCE_BYTES)
  let mine = await currentOwnToken(ctx, options)
  // the initiator's token is verified and Noise proved its key: its proof
  // (next) cannot add to what the ticket vouches for, so it is granted now
  await writeHello(pb, ctx, mine, nonce, options, hello.nonce, { grant: grantFor(ctx, { token: hello.token, claims }) })
  let proof = await readProof(pb, options)
  if (proof.retry) {
    // our epoch is rotated, says the initiator: its proof is the token it
    // showed (verified, its own), which must be of a newer epoch than ours
    if (claims.ep <= mine.claims.ep) {
      throw new AdmissionError('bad-proof', 'a retry for an epoch this node holds already')
    }
    mine = await currentOwnToken(ctx, options)
    await writeHello(pb, ctx, mine, nonce, options, hello.nonce, { grant: grantFor(ctx, { token: hello.token, claims }) })
    proof = await readProof(pb, options)
    if (proof.retry) {
      throw new AdmissionError('bad-proof', 'a second retry in one exchange')
    }
  }
  if (proof.resumed || proof.declined) {
    throw new AdmissionError('malformed', 'a resumption answer in a full exchange')
  }
  await verifyProof(ctx, proof.signature, nonce, hello.token)
  ctx.state.tickets?.hold(ctx.remotePeer.toString(), proof.grant, proof.grantSecret, { claims, token: hello.token })
  return { claims, token: hello.token, keyCertificate: hello.keyCertificate }
}

async function readProof (pb: ProtobufStream, options: AbortOptions): Promise<AdmitProof> {
  const proof = await readFrame(pb, PROOF, options)
  checkProof(proof)
  return proof
}

/**
 * The initiator asks to resume: take its ticket if it is ours, for it, of
 * this epoch, with uses left, and we hold one of its own to show back;
 * then it is the initiator's turn to take ours, or decline it (the full
 * exchange follows). `undefined`: we would not resume (said by answering
 * with a full hello).
 */
async function resumeAsResponder (pb: ProtobufStream, ctx: ExchangeContext, hello: AdmitHello, options: AbortOptions): Promise<Admitted | 'declined' | undefined> {
  const remote = ctx.remotePeer.toString()
  const opened = checkTicket(ctx, hello.ticket)
  if (typeof opened === 'string') {
    ctx.state.noteResumption?.(opened)
    return undefined
  }
  const ours = ctx.state.tickets?.present(remote, ctx.state.verifier.current?.epoch)
  if (ours == null) {
    ctx.state.noteResumption?.('no-ticket-to-show')
    return undefined
  }
  await pb.write({ version: ADMIT_PROTOCOL, token: '', nonce: new Uint8Array(0), keyCertificate: '', retry: false, signature: new Uint8Array(0), ticket: new Uint8Array(ours), ...grantFor(ctx, opened) }, AdmitHello, options)
  const answer = await readProof(pb, options)
  if (answer.declined) {
    ctx.state.tickets?.drop(remote, ours)
    return 'declined'
  }
  if (!answer.resumed || answer.signature.length > 0 || answer.retry) {
    throw new AdmissionError('malformed', 'an answer to a resumption is `resumed` or `declined`')
  }
  ctx.state.tickets?.hold(remote, answer.grant, answer.grantSecret, opened)
  ctx.state.noteResumption?.('resumed')
  return resumedWith(opened)
}
