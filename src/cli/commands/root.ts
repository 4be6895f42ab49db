/**
 * `tempus root …` (on the offline root's machine) and the issuer's side of
 * the ceremony (`tempus issuer import`, `requests`, `revocation-key`): the
 * root key never meets the issuer; requests and answers are files carried
 * between them. README "Offline root".
 */
import { readFile, writeFile } from 'node:fs/promises'
import { createInterface } from 'node:readline/promises'
import { cliPassphrase } from '../passphrase.ts'
import { UsageError } from '../errors.ts'
import { printJson } from '../output.ts'
import { parseDuration } from '../../core/duration.ts'
import { createRootKey, isTokenKey, openRootKey } from '../../issuer/root-key.ts'
import { answerRootRequest, describeRootRequest, MAX_ROOT_FILE_BYTES, parseRootRequest } from '../../issuer/root-request.ts'
import { openIssuer } from './issuer.ts'
import { sayRootRequest, writeRootRequest } from '../root-request-file.ts'

export const ROOT_PASSPHRASE = { value: 'TEMPUS_ROOT_PASSPHRASE', file: 'TEMPUS_ROOT_PASSPHRASE_FILE', credential: 'tempus-root-passphrase' }

/** the root passphrase (a file-held root only): never the development default */
async function rootPassphrase (key: string): Promise<string> {
  if (isTokenKey(key)) {
    return ''
  }
  const p = await cliPassphrase({ names: ROOT_PASSPHRASE })
  if (p.source === 'dev-default') {
    throw new UsageError('the root key file is sealed with a passphrase: set TEMPUS_ROOT_PASSPHRASE_FILE (a file holding it) or TEMPUS_ROOT_PASSPHRASE; there is no default for the root')
  }
  return p.value
}

async function readBounded (file: string, what: string): Promise<string> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err: any) {
    throw new UsageError(`${what} ${file}: ${err.code === 'ENOENT' ? 'no such file' : `cannot read it (${String(err.code ?? err.message)})`}`)
  }
  if (text.length > MAX_ROOT_FILE_BYTES) {
    throw new UsageError(`${what} ${file} is larger than ${MAX_ROOT_FILE_BYTES} bytes: not a tempus root file`)
  }
  return text
}

export async function rootInitCommand (opts: { key: string, json?: boolean }): Promise<void> {
  const root = await createRootKey(opts.key, await rootPassphrase(opts.key))
  const publicKey = Buffer.from(root.publicKey).toString('base64url')
  root.close()
  if (opts.json === true) {
    printJson({ rootPublicKey: publicKey, key: isTokenKey(opts.key) ? 'pkcs11' : 'file' })
  } else {
    process.stdout.write(`root public key ${publicKey}\ncreate the issuer with: tempus issuer init --data DIR --overlay ID --offline-root ${publicKey}\n`)
  }
}

export async function rootSignCommand (requestFile: string, opts: { key: string, out?: string, yes?: boolean, json?: boolean }): Promise<void> {
  const request = parseRootRequest(await readBounded(requestFile, 'request'))
  process.stderr.write(`The root is asked to certify:\n${describeRootRequest(request).join('\n')}\n`)
  if (opts.yes !== true) {
    if (process.stdin.isTTY !== true) {
      throw new UsageError('confirm on a terminal, or pass --yes once you have checked what the request asks (printed above)')
    }
    const rl = createInterface({ input: process.stdin, output: process.stderr })
    const answer = await rl.question('Sign all of this with the root key? Type "yes": ')
    rl.close()
    if (answer.trim() !== 'yes') {
      throw new UsageError('not signed')
    }
  }
  const root = await openRootKey(opts.key, await rootPassphrase(opts.key))
  try {
    const answer = await answerRootRequest(root.signer, root.publicKey, request, Date.now())
    const out = opts.out ?? requestFile.replace(/\.json$/, '') + '.signed.json'
    await writeFile(out, JSON.stringify(answer, null, 2) + '\n', { mode: 0o644, flag: 'wx' }).catch((err: any) => {
      throw new UsageError(err.code === 'EEXIST' ? `${out} exists; name another with --out` : `cannot write ${out}: ${String(err.code ?? err.message)}`)
    })
    if (opts.json === true) {
      printJson({ answer: out, nonce: request.nonce, certificates: answer.certificates.length })
    } else {
      process.stdout.write(`signed answer written to ${out}; import it on the issuer with: tempus issuer import ${out} --data DIR\n`)
    }
  } finally {
    root.close()
  }
}

export async function issuerImportCommand (file: string, opts: { data: string, store?: string, passphraseFile?: string, json?: boolean }): Promise<void> {
  const text = await readBounded(file, 'answer')
  const issuer = await openIssuer(opts.data, opts.passphraseFile, { store: opts.store })
  try {
    const result = await issuer.importRootAnswer(text)
    if (opts.json === true) {
      printJson(result)
    } else {
      process.stdout.write(`imported the root's answer to request ${result.nonce} (${result.purpose}):\n${result.imported.map(i => `  ${i}`).join('\n')}\n`)
    }
  } finally {
    await issuer.close()
  }
}

export async function issuerRequestsCommand (opts: { data: string, store?: string, passphraseFile?: string, out?: string, json?: boolean }): Promise<void> {
  const issuer = await openIssuer(opts.data, opts.passphraseFile, { store: opts.store })
  try {
    const pending = await issuer.pendingRootRequests()
    const written: string[] = []
    for (const p of pending) {
      written.push(await writeRootRequest(p, opts.out ?? opts.data))
    }
    if (opts.json === true) {
      printJson({ requests: pending.map((p, i) => ({ purpose: p.purpose, nonce: p.request.nonce, file: written[i] })) })
    } else {
      process.stdout.write(pending.length === 0 ? 'no request awaits the root\n' : pending.map((p, i) => `${p.purpose} ${p.request.nonce}: ${String(written[i])}`).join('\n') + '\n')
    }
  } finally {
    await issuer.close()
  }
}

export async function issuerRevocationKeyCommand (opts: { data: string, store?: string, passphraseFile?: string, validity?: string, out?: string, json?: boolean }): Promise<void> {
  let validityMs: number | undefined
  if (opts.validity != null) {
    try {
      validityMs = parseDuration(opts.validity, '--validity')
    } catch (err: any) {
      throw new UsageError(err.message)
    }
  }
  const issuer = await openIssuer(opts.data, opts.passphraseFile, { store: opts.store })
  try {
    const pending = await issuer.requestRevocationKey(validityMs)
    const path = await writeRootRequest(pending, opts.data, opts.out)
    if (opts.json === true) {
      printJson({ request: path, nonce: pending.request.nonce })
    } else {
      process.stdout.write(sayRootRequest(path, pending))
    }
  } finally {
    await issuer.close()
  }
}
