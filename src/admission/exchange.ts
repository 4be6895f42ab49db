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
 * stranger learns nothing. A token of a rotated epoch is answered once with
 * `retry` and the current key's certificate, so an honest holder re-fetches
 * and goes on on the same connection.
 */
import { createHash, randomBytes } from 'node:crypto'
import { ADMIT_PROTOCOL, DOMAINS, MAX_KEY_CERT_BYTES, MAX_TOKEN_BYTES, NONCE_BYTES } from './constants.ts'
import { AdmissionError } from './errors.ts'
import { keyObjectOf, publicKeyFromRawBytes, signDomain, verifyDomain } from './keys.ts'
import { AdmitHello, AdmitProof } from './pb/admission.ts'
import type { AdmissionState } from './state.ts'
import type { TokenClaims } from './token.ts'
import type { PeerId, PrivateKey, AbortOptions } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

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

async function readFrame<T> (lp: LengthPrefixedStream, decode: (buf: Uint8Array) => T, options: AbortOptions): Promise<T> {
  let bytes: Uint8Array
  try {
    bytes = (await lp.read(options)).subarray()
  } catch (err: any) {
    if (options.signal?.aborted === true) {
      throw new AdmissionError('timeout')
    }
    if (err?.name === 'InvalidDataLengthError' || err?.name === 'InvalidDataLengthLengthError' || err?.name === 'InvalidMessageLengthError') {
      throw new AdmissionError('malformed', 'admission frame too large')
    }
    // the remote closed or reset: it refused us, or went away. That is no
    // misbehaviour of its own, so it costs it no suspicion.
    throw new AdmissionError('refused', `the remote closed the exchange: ${err?.name ?? 'error'}`)
  }
  try {
    return decode(bytes)
  } catch {
    throw new AdmissionError('malformed', 'admission frame does not decode')
  }
}

function checkHello (hello: AdmitHello): void {
  if (hello.version !== ADMIT_PROTOCOL || hello.nonce.length !== NONCE_BYTES ||
    hello.token.length > MAX_TOKEN_BYTES || hello.keyCertificate.length > MAX_KEY_CERT_BYTES) {
    throw new AdmissionError('malformed', 'bad hello')
  }
}

async function verifyRemoteToken (ctx: ExchangeContext, hello: AdmitHello): Promise<TokenClaims> {
  return ctx.state.verifier.verify(hello.token, {
    sub: ctx.remotePeer.toString(),
    keyCertificate: hello.keyCertificate === '' ? undefined : hello.keyCertificate
  })
}

/**
 * Read the remote's hello and verify its token. A token of a rotated epoch
 * gets one `retry` hello (the distinct reason, with the current key's
 * certificate) so an honest but stale holder re-fetches and tries again on
 * the same connection instead of failing.
 */
async function receiveHello (lp: LengthPrefixedStream, ctx: ExchangeContext, options: AbortOptions): Promise<{ hello: AdmitHello, claims: TokenClaims }> {
  for (let attempt = 0; ; attempt++) {
    const hello = await readFrame(lp, AdmitHello.decode, options)
    checkHello(hello)
    try {
      return { hello, claims: await verifyRemoteToken(ctx, hello) }
    } catch (err: any) {
      const current = ctx.state.verifier.current
      if (!(err instanceof AdmissionError) || err.reason !== 'rotated-key' || attempt > 0 || current == null) {
        throw err
      }
      await lp.write(AdmitHello.encode({ version: ADMIT_PROTOCOL, token: '', nonce: new Uint8Array(randomBytes(NONCE_BYTES)), keyCertificate: current.jws, retry: true, signature: new Uint8Array(0) }), options)
    }
  }
}

/** Send our hello (with our proof over their nonce, as responder), first bringing our token up to the current epoch. */
async function sendHello (lp: LengthPrefixedStream, ctx: ExchangeContext, nonce: Uint8Array, options: AbortOptions, theirNonce?: Uint8Array): Promise<string> {
  await ctx.state.ensureOwnTokenCurrent()
  const mine = ownToken(ctx)
  const signature = theirNonce == null ? new Uint8Array(0) : signProof(ctx, theirNonce, mine.token)
  await lp.write(AdmitHello.encode({ version: ADMIT_PROTOCOL, token: mine.token, nonce: new Uint8Array(nonce), keyCertificate: mine.keyCertificate, retry: false, signature }), options)
  return mine.token
}

async function verifyProof (ctx: ExchangeContext, signature: Uint8Array, myNonce: Uint8Array, remoteToken: string): Promise<void> {
  const key = ctx.remotePeer.publicKey
  if (key?.type !== 'Ed25519' || !verifyDomain(publicKeyFromRawBytes(key.raw), signature, DOMAINS.admitProof, myNonce, tokenHash(remoteToken))) {
    throw new AdmissionError('bad-proof')
  }
}

function ownToken (ctx: ExchangeContext): { token: string, keyCertificate: string } {
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
}

export async function admitAsInitiator (lp: LengthPrefixedStream, ctx: ExchangeContext, options: AbortOptions): Promise<Admitted> {
  const nonce = randomBytes(NONCE_BYTES)
  let myToken = await sendHello(lp, ctx, nonce, options)
  let hello = await readFrame(lp, AdmitHello.decode, options)
  if (hello.retry) {
    // our epoch is rotated: learn the current key, re-fetch, say hello again
    await ctx.state.verifier.setCurrent(hello.keyCertificate)
    await ctx.state.refreshOwnToken?.()
    myToken = await sendHello(lp, ctx, nonce, options)
    hello = await readFrame(lp, AdmitHello.decode, options)
  }
  checkHello(hello)
  let claims: TokenClaims
  try {
    claims = await verifyRemoteToken(ctx, hello)
  } catch (err: any) {
    if (!(err instanceof AdmissionError) || err.reason !== 'rotated-key' || ctx.state.verifier.current == null) {
      throw err
    }
    // the responder is behind: tell it once, it re-fetches and says hello again
    await lp.write(AdmitProof.encode({ signature: new Uint8Array(0), retry: true, keyCertificate: ctx.state.verifier.current.jws }), options)
    hello = await readFrame(lp, AdmitHello.decode, options)
    checkHello(hello)
    claims = await verifyRemoteToken(ctx, hello)
  }
  await verifyProof(ctx, hello.signature, nonce, hello.token)
  await lp.write(AdmitProof.encode({ signature: signProof(ctx, hello.nonce, myToken), retry: false, keyCertificate: '' }), options)
  return { claims, token: hello.token, keyCertificate: hello.keyCertificate }
}

export async function admitAsResponder (lp: LengthPrefixedStream, ctx: ExchangeContext, options: AbortOptions): Promise<Admitted> {
  ownToken(ctx)
  const { hello, claims } = await receiveHello(lp, ctx, options)
  const nonce = randomBytes(NONCE_BYTES)
  await sendHello(lp, ctx, nonce, options, hello.nonce)
  let proof = await readFrame(lp, AdmitProof.decode, options)
  if (proof.retry) {
    // the initiator says our epoch is rotated: learn the key, re-fetch, hello again
    await ctx.state.verifier.setCurrent(proof.keyCertificate)
    await ctx.state.refreshOwnToken?.()
    await sendHello(lp, ctx, nonce, options, hello.nonce)
    proof = await readFrame(lp, AdmitProof.decode, options)
  }
  await verifyProof(ctx, proof.signature, nonce, hello.token)
  return { claims, token: hello.token, keyCertificate: hello.keyCertificate }
}
