/** `tempus admin …`: an administrator's own key, and approving revocations with it. */
import { DOMAINS } from '../../core/domains.ts'
import { generateEd25519, rawPublicKey, signDomain } from '../../core/keys.ts'
import { cliPassphrase as resolvePassphrase } from '../passphrase.ts'
import { IssuerClientError } from '../../issuer-client/client.ts'
import { loadAdminKey, sealAdminKey, writeKeyFile } from '../admin-key.ts'
import { printJson } from '../output.ts'
import type { LoadedAdminKey } from '../admin-key.ts'

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

/** The passphrase that seals admin keys: TEMPUS_PASSPHRASE(_FILE) or --passphrase-file, like a node's key. */
async function passphrase (file?: string): Promise<string> {
  const p = await resolvePassphrase({ file })
  if (p.source === 'dev-default') {
    process.stderr.write('WARNING: TEMPUS_PASSPHRASE is not set; the admin key is sealed with the public development passphrase.\n')
  }
  return p.value
}

export async function adminKeygenCommand (opts: { out: string, force?: boolean, passphraseFile?: string, json?: boolean }): Promise<void> {
  const pair = generateEd25519()
  await writeKeyFile(opts.out, await sealAdminKey(pair, await passphrase(opts.passphraseFile)), opts.force === true)
  const publicKey = b64(rawPublicKey(pair.publicKey))
  if (opts.json === true) {
    printJson({ publicKey, file: opts.out })
  } else {
    process.stdout.write(`admin key written to ${opts.out} (sealed with the passphrase, mode 0600)\npublic key ${publicKey}\nregister it with: tempus issuer admin add --data DIR --name NAME --key ${publicKey}\n`)
  }
}

/** Load an admin key; a legacy unencrypted one loads with a warning that says how to seal it. */
export async function adminKey (path: string, passphraseFile?: string): Promise<LoadedAdminKey> {
  const key = await loadAdminKey(path, await passphrase(passphraseFile))
  if (key.legacy) {
    process.stderr.write(`WARNING: admin key ${path} is not encrypted; seal it with: tempus admin reseal --key ${path}\n`)
  }
  return key
}

/** Seal a legacy unencrypted admin key in place (same key, same public key). */
export async function adminResealCommand (opts: { key: string, passphraseFile?: string, json?: boolean }): Promise<void> {
  const secret = await passphrase(opts.passphraseFile)
  const key = await loadAdminKey(opts.key, secret)
  if (key.legacy) {
    await writeKeyFile(opts.key, await sealAdminKey(key.pair, secret), true)
  }
  if (opts.json === true) {
    printJson({ publicKey: key.publicKey, file: opts.key, resealed: key.legacy })
  } else {
    process.stdout.write(key.legacy ? `admin key ${opts.key} sealed with the passphrase (public key ${key.publicKey})\n` : `admin key ${opts.key} is already sealed\n`)
  }
}

export async function adminApproveCommand (request: string, opts: { key: string, issuer: string, passphraseFile?: string, json?: boolean }): Promise<void> {
  const { pair } = await adminKey(opts.key, opts.passphraseFile)
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
    throw new IssuerClientError(body?.error ?? 'error', res.status, `the issuer refused the approval: ${body?.error ?? res.status}${typeof body?.detail === 'string' ? ` (${body.detail.slice(0, 300)})` : ''}`)
  }
  if (opts.json === true) {
    printJson(body)
  } else {
    process.stdout.write(`approved revocation of ${pending.peerId} (${pending.reason}): ${body.approvals}/${body.threshold}${body.state === 'done' ? ' — revoked and published' : ''}\n`)
  }
}
