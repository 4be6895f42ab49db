/**
 * The node's side of TPM attestation (`tempus enroll --attest tpm`,
 * protocols/attestation.md), with tpm2-tools: every tool is run by
 * `execFile` (no shell), with a TCTI from the operator (`device:/dev/tpmrm0`
 * by default, `swtpm:host=…,port=…` for a software TPM), on files in a
 * private temporary directory that `close()` removes.
 *
 *   open():       tpm2_nvread 0x01c00002 (the RSA EK certificate),
 *                 tpm2_createek (the RSA EK, from the default template),
 *                 tpm2_createak (a restricted signing key under the EK)
 *   challenge():  the issuer seals a challenge for the EK and the AK;
 *                 tpm2_activatecredential opens it (an endorsement policy session)
 *   evidence():   tpm2_quote of the PCRs the issuer named, extraData =
 *                 SHA-256(domain ‖ challenge ‖ node key)
 *
 * Without a resource manager (swtpm over TCP) loaded objects and sessions
 * outlive each tool: every step flushes the transient objects it loaded,
 * since the TPM holds only a few.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { TempusError } from '../core/tempus-error.ts'
import { decodeAttestQuote, HASH_SIZES } from '../issuer/tpm/decode.ts'
import { quoteExtraData } from '../issuer/tpm/verifier.ts'
import type { EnrolmentAttestor, IssuerClient } from '../issuer-client/client.ts'
import type { TpmActivation, TpmEvidence } from '../issuer-client/tpm-wire.ts'

const run = promisify(execFile)

/** A tpm2-tools step that failed: which tool, and its last line of stderr. */
export class TpmToolError extends TempusError {
  override readonly name = 'TpmToolError'
  readonly code = 'tpm-tool'
  readonly tool: string

  constructor (tool: string, message: string) {
    super(message)
    this.tool = tool
  }
}

/** the AK's algorithm: ECDSA P-256, RSASSA or RSAPSS (2048 bits), all with SHA-256 */
export type AkAlgorithm = 'ecc' | 'rsa' | 'rsapss'

export interface TpmAttestorInit {
  /**
   * the TPM to use, as a TCTI: `device:/dev/tpmrm0` or `swtpm:host=127.0.0.1,port=2321`
   * @default 'device:/dev/tpmrm0'
   */
  tcti?: string
  /** @default 'ecc' */
  ak?: AkAlgorithm
  /** tool timeout, ms @default 60000 */
  timeoutMs?: number
}

/** the TCTIs accepted: a device node, or a TCP simulator with host and port */
const TCTI = /^(device:\/dev\/tpm(rm)?[0-9]{1,3}|(swtpm|mssim):host=[A-Za-z0-9.:-]{1,255},port=[0-9]{1,5})$/

export function parseTcti (tcti: string): string {
  if (!TCTI.test(tcti)) {
    throw new TpmToolError('tcti', `--tcti ${JSON.stringify(tcti)} is neither device:/dev/tpmrmN nor swtpm:host=HOST,port=PORT`)
  }
  return tcti
}

/** the quote's signing scheme must be the one the AK was made for */
const QUOTE_SCHEME: Record<AkAlgorithm, string> = { ecc: 'ecdsa', rsa: 'rsassa', rsapss: 'rsapss' }

const AK_ARGS: Record<AkAlgorithm, string[]> = {
  ecc: ['-G', 'ecc', '-g', 'sha256', '-s', 'ecdsa'],
  rsa: ['-G', 'rsa', '-g', 'sha256', '-s', 'rsassa'],
  rsapss: ['-G', 'rsa', '-g', 'sha256', '-s', 'rsapss']
}

/** The file `tpm2_activatecredential -i` reads: magic 0xBADCC0DE, version 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET. */
export function credentialFile (activation: Pick<TpmActivation, 'credentialBlob' | 'encryptedSecret'>): Uint8Array {
  const sized = (b64: string): Buffer => {
    const bytes = Buffer.from(b64, 'base64url')
    const size = Buffer.alloc(2)
    size.writeUInt16BE(bytes.length)
    return Buffer.concat([size, bytes])
  }
  const head = Buffer.alloc(8)
  head.writeUInt32BE(0xbadcc0de, 0)
  head.writeUInt32BE(1, 4)
  return new Uint8Array(Buffer.concat([head, sized(activation.credentialBlob), sized(activation.encryptedSecret)]))
}

/** `sha256:0,7+sha1:0` from `{ sha256: [0, 7], sha1: [0] }`; all of PCRs 0–7 in SHA-256 when nothing is named */
export function pcrSelectionArg (pcrs: Record<string, number[]>): string {
  const banks = Object.entries(pcrs).filter(([bank, list]) => [...HASH_SIZES.values()].some(h => h.name === bank) && Array.isArray(list) && list.length > 0 && list.every(i => Number.isInteger(i) && i >= 0 && i <= 23))
  if (banks.length === 0) {
    return 'sha256:0,1,2,3,4,5,6,7'
  }
  return banks.map(([bank, list]) => `${bank}:${list.join(',')}`).join('+')
}

export class TpmAttestor implements EnrolmentAttestor {
  private readonly dir: string
  private readonly tcti: string
  private readonly timeoutMs: number
  /** base64url DER of the EK certificate */
  readonly ekCertificate: string
  /** base64url TPMT_PUBLIC of the AK */
  readonly akPublic: string
  private readonly ak: AkAlgorithm
  private pcrs: Record<string, number[]> = {}

  private constructor (dir: string, tcti: string, timeoutMs: number, ak: AkAlgorithm, ekCertificate: string, akPublic: string) {
    this.dir = dir
    this.ak = ak
    this.tcti = tcti
    this.timeoutMs = timeoutMs
    this.ekCertificate = ekCertificate
    this.akPublic = akPublic
  }

  /** read the EK certificate, create the EK and an AK: the TPM's side of the challenge request */
  static async open (init: TpmAttestorInit = {}): Promise<TpmAttestor> {
    const tcti = parseTcti(init.tcti ?? 'device:/dev/tpmrm0')
    const timeoutMs = init.timeoutMs ?? 60_000
    const ak = init.ak ?? 'ecc'
    if (AK_ARGS[ak] == null) {
      throw new TpmToolError('tpm2_createak', `the AK algorithm must be ecc, rsa or rsapss, not ${String(ak)}`)
    }
    const dir = await mkdtemp(join(tmpdir(), 'tempus-tpm-'))
    try {
      const tool = async (name: string, args: string[]): Promise<void> => { await runTool(name, args, tcti, dir, timeoutMs) }
      await tool('tpm2_flushcontext', ['-t'])
      await tool('tpm2_nvread', ['0x01c00002', '-o', 'ek.der'])
      await tool('tpm2_createek', ['-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub'])
      await tool('tpm2_flushcontext', ['-t'])
      await tool('tpm2_createak', ['-C', 'ek.ctx', '-c', 'ak.ctx', ...AK_ARGS[ak], '-u', 'ak.pub', '-n', 'ak.name'])
      await tool('tpm2_flushcontext', ['-t'])
      const ekDer = await readFile(join(dir, 'ek.der'))
      // tpm2_createak writes a TPM2B_PUBLIC: its size, then the TPMT_PUBLIC
      const ak2b = await readFile(join(dir, 'ak.pub'))
      if (ak2b.length < 2 || ak2b.readUInt16BE(0) !== ak2b.length - 2) {
        throw new TpmToolError('tpm2_createak', 'the AK public area it wrote is not a TPM2B_PUBLIC')
      }
      return new TpmAttestor(dir, tcti, timeoutMs, ak, ekDer.toString('base64url'), ak2b.subarray(2).toString('base64url'))
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw err
    }
  }

  private async tool (name: string, args: string[]): Promise<string> {
    return await runTool(name, args, this.tcti, this.dir, this.timeoutMs)
  }

  /** the sealed challenge, opened by this TPM (TPM2_ActivateCredential under an endorsement policy session) */
  async activate (activation: TpmActivation): Promise<Uint8Array> {
    await writeFile(join(this.dir, 'cred.bin'), credentialFile(activation))
    await this.tool('tpm2_startauthsession', ['--policy-session', '-S', 'session.ctx'])
    try {
      await this.tool('tpm2_policysecret', ['-S', 'session.ctx', '-c', 'e'])
      await this.tool('tpm2_activatecredential', ['-c', 'ak.ctx', '-C', 'ek.ctx', '-i', 'cred.bin', '-o', 'challenge.bin', '-P', 'session:session.ctx'])
    } finally {
      await this.tool('tpm2_flushcontext', ['session.ctx']).catch(() => {})
      await this.tool('tpm2_flushcontext', ['-t']).catch(() => {})
    }
    return new Uint8Array(await readFile(join(this.dir, 'challenge.bin')))
  }

  /** a quote of `pcrs` over `extraData`: the evidence's TPM parts */
  async quote (extraData: Uint8Array, pcrs: Record<string, number[]>): Promise<Pick<TpmEvidence, 'quote' | 'signature' | 'pcrs'>> {
    try {
      await this.tool('tpm2_quote', ['-c', 'ak.ctx', '-l', pcrSelectionArg(pcrs), '-q', Buffer.from(extraData).toString('hex'), '-m', 'quote.bin', '-s', 'signature.bin', '-o', 'pcrs.bin', '-F', 'values', '-g', 'sha256', '--scheme', QUOTE_SCHEME[this.ak]])
    } finally {
      await this.tool('tpm2_flushcontext', ['-t']).catch(() => {})
    }
    const quote = await readFile(join(this.dir, 'quote.bin'))
    const values = await readFile(join(this.dir, 'pcrs.bin'))
    // the values file holds the selected PCRs back to back, in the quote's selection order
    const out: Record<string, Record<string, string>> = {}
    let at = 0
    for (const bank of decodeAttestQuote(quote).pcrSelect) {
      const hash = HASH_SIZES.get(bank.hashAlg)
      if (hash == null) {
        throw new TpmToolError('tpm2_quote', `the quote selects an unknown bank 0x${bank.hashAlg.toString(16)}`)
      }
      const bankValues: Record<string, string> = {}
      for (const pcr of bank.pcrs) {
        if (at + hash.size > values.length) {
          throw new TpmToolError('tpm2_quote', 'fewer PCR values than the quote selects')
        }
        bankValues[String(pcr)] = values.subarray(at, at + hash.size).toString('hex')
        at += hash.size
      }
      out[hash.name] = bankValues
    }
    return { quote: quote.toString('base64url'), signature: (await readFile(join(this.dir, 'signature.bin'))).toString('base64url'), pcrs: out }
  }

  async challenge (client: IssuerClient): Promise<Uint8Array> {
    const activation = await client.sealedChallenge({ ekCertificate: this.ekCertificate, akPublic: this.akPublic })
    this.pcrs = activation.pcrs
    return await this.activate(activation)
  }

  async evidence (challenge: Uint8Array, publicKey: Uint8Array): Promise<string> {
    const quoted = await this.quote(quoteExtraData(challenge, publicKey), this.pcrs)
    const evidence: TpmEvidence = { v: 1, ekCertificate: this.ekCertificate, akPublic: this.akPublic, ...quoted }
    return JSON.stringify(evidence)
  }

  /** remove the temporary directory (the AK's context and the quote) */
  async close (): Promise<void> {
    await rm(this.dir, { recursive: true, force: true })
  }
}

async function runTool (name: string, args: string[], tcti: string, cwd: string, timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await run(name, args, { cwd, timeout: timeoutMs, maxBuffer: 1 << 20, env: { ...process.env, TPM2TOOLS_TCTI: tcti } })
    return stdout
  } catch (err: any) {
    if (err?.code === 'ENOENT') {
      throw new TpmToolError(name, `${name} is not installed: install the Debian package tpm2-tools`)
    }
    // the tool's own ERROR lines say what failed (the last one is only "Unable to run …")
    const lines = String(err?.stderr ?? '').trim().split('\n').filter(l => l.startsWith('ERROR'))
    const last = lines.slice(-3).join(' | ') || String(err?.message ?? 'failed')
    throw new TpmToolError(name, `${name} failed: ${last.slice(0, 500)}`)
  }
}
