/** `tempus admin …`: an administrator's own key, and approving revocations with it. */
import { readFile } from 'node:fs/promises'
import { DOMAINS } from '../../admission/constants.ts'
import { generateEd25519, privateKeyFromPem, privateKeyToPem, rawPublicKey, signDomain } from '../../admission/keys.ts'
import { writeFileDurably } from '../../identity/key-store.ts'
import { IssuerClientError } from '../../issuer/client.ts'
import { UsageError } from '../errors.ts'
import { printJson } from '../output.ts'

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

export async function adminKeygenCommand (opts: { out: string, json?: boolean }): Promise<void> {
  const pair = generateEd25519()
  await writeFileDurably(opts.out, privateKeyToPem(pair.privateKey), 0o600)
  const publicKey = b64(rawPublicKey(pair.publicKey))
  if (opts.json === true) {
    printJson({ publicKey, file: opts.out })
  } else {
    process.stdout.write(`admin key written to ${opts.out} (mode 0600)\npublic key ${publicKey}\nregister it with: tempus issuer admin add --data DIR --name NAME --key ${publicKey}\n`)
  }
}

export async function adminApproveCommand (request: string, opts: { key: string, issuer: string, json?: boolean }): Promise<void> {
  let pem: string
  try {
    pem = await readFile(opts.key, 'utf8')
  } catch (err: any) {
    throw new UsageError(`cannot read admin key ${opts.key}: ${err.code ?? 'unreadable'}`)
  }
  let pair
  try {
    pair = privateKeyFromPem(pem)
  } catch {
    throw new UsageError(`${opts.key} is not an admin key`)
  }
  const base = opts.issuer.replace(/\/+$/, '')
  const get = await fetch(`${base}/v1/revoke/${encodeURIComponent(request)}`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined)
  if (get == null) {
    throw new IssuerClientError('unreachable', 0, `issuer ${base} unreachable`)
  }
  if (!get.ok) {
    throw new IssuerClientError(((await get.json().catch(() => ({}))) as any).error ?? 'error', get.status, `the issuer has no revocation request ${request}`)
  }
  const pending = await get.json() as { payload: string, peerId: string, reason: string }
  // what is signed is exactly the payload shown here
  const signature = b64(signDomain(pair.privateKey, DOMAINS.revocationApproval, Buffer.from(pending.payload, 'base64url')))
  const res = await fetch(`${base}/v1/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request, adminKey: b64(rawPublicKey(pair.publicKey)), signature }),
    signal: AbortSignal.timeout(10_000)
  })
  const body = await res.json() as any
  if (!res.ok) {
    throw new IssuerClientError(body?.error ?? 'error', res.status, `the issuer refused the approval: ${body?.error ?? res.status}`)
  }
  if (opts.json === true) {
    printJson(body)
  } else {
    process.stdout.write(`approved revocation of ${pending.peerId} (${pending.reason}): ${body.approvals}/${body.threshold}${body.state === 'done' ? ' — revoked and published' : ''}\n`)
  }
}
