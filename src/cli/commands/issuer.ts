/** `tempus issuer …`: run and administer the issuer. */
import { readFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { cliPassphrase as resolvePassphrase } from '../passphrase.ts'
import { publicKeyFromRawBytes } from '../../core/keys.ts'
import { noAttestation, testAttestor } from '../../issuer/attestation.ts'
import { ConfigError } from '../../core/config-error.ts'
import { parseEndorsementCAs } from '../../issuer/tpm/endorsement.ts'
import { parsePcrPolicy } from '../../issuer/tpm/pcr-policy.ts'
import { tpmAttestation } from '../../issuer/tpm/verifier.ts'
import { androidAttestationFromFiles } from '../../issuer/android/files.ts'
import { appAttestationFromFiles } from '../../issuer/apple/files.ts'
import { playIntegrityFromFile } from '../../issuer/play/files.ts'
import { startIssuerHttp } from '../../issuer/http.ts'
import { Issuer, hasIssuer, noIssuerMessage } from '../../issuer/issuer.ts'
import { createLogger } from '../../logging/logger.ts'
import { logDestination } from '../log-format.ts'
import type { LevelName } from '../log-format.ts'
import type { PinoLogger } from '../../logging/logger.ts'
import { parseDuration } from '../../core/duration.ts'
import { isPeerType } from '../../core/peer-type.ts'
import { UsageError } from '../errors.ts'
import { printJson } from '../output.ts'
import { withProgress } from '../progress.ts'
import { installSafetyNet } from '../safety-net.ts'
import { monotonicUsec, systemdNotifier } from '../sd-notify.ts'
import { acquireDataLock } from '../../storage/index.ts'
import { sayRootRequest, writeRootRequest } from '../root-request-file.ts'
import { parseStore } from '../../issuer/db/store-location.ts'
import { TOKEN_TTL_MAX_MS, TOKEN_TTL_MIN_MS } from '../../admission/constants.ts'
import type { AttestationVerifier } from '../../issuer/attestation.ts'
import type { IssuerOpenOptions } from '../../issuer/issuer.ts'

export const ISSUER_PASSPHRASE = { value: 'TEMPUS_ISSUER_PASSPHRASE', file: 'TEMPUS_ISSUER_PASSPHRASE_FILE', credential: 'tempus-issuer-passphrase' }

async function passphrase (file?: string): Promise<string> {
  const p = await resolvePassphrase({ file, names: ISSUER_PASSPHRASE })
  if (p.source === 'dev-default') {
    process.stderr.write('WARNING: TEMPUS_ISSUER_PASSPHRASE is not set; the issuer keys are sealed with the public development passphrase.\n')
  }
  return p.value
}

/** a rate limit flag: a whole number from 1 to 10⁶ */
function limit (value: string | undefined, name: string, fallback: number): number {
  if (value == null) {
    return fallback
  }
  const n = Number(value)
  if (!/^[0-9]{1,7}$/.test(value) || n < 1 || n > 1_000_000) {
    throw new UsageError(`${name} must be a whole number from 1 to 1000000`)
  }
  return n
}

function duration (value: string, name: string): number {
  try {
    return parseDuration(value, name)
  } catch (err: any) {
    throw new UsageError(err.message)
  }
}

/**
 * Open an existing issuer. Every command but `init` reads an issuer and
 * never creates one: a mistyped --data is refused before anything is
 * opened (and before the passphrase is asked for), and stays untouched.
 */
export async function openIssuer (data: string, passphraseFile?: string, options: Partial<IssuerOpenOptions> = {}): Promise<Issuer> {
  const store = checkedStore(options.store)
  if (store == null && !hasIssuer(data)) {
    throw new UsageError(noIssuerMessage(data))
  }
  const secret = await passphrase(passphraseFile)
  return await withProgress('opening the issuer: deriving its keys\' decryption key from the passphrase (scrypt)', async () => await Issuer.open({ ...options, store, dir: data, passphrase: secret }), { json: process.argv.includes('--json') })
}

/** `--store` checked before anything opens (a bad URL is a usage error, named without its password). */
function checkedStore (store: string | undefined): string | undefined {
  if (store == null) {
    return undefined
  }
  try {
    return parseStore(store)
  } catch (err: any) {
    throw new UsageError(`--store: ${String(err.message)}`)
  }
}

export async function issuerInitCommand (opts: { data: string, overlay: string, bootstrap: string[], threshold: string, passphraseFile?: string, store?: string, key?: string, offlineRoot?: string, revocationKeyValidity?: string, requestOut?: string, json?: boolean }): Promise<void> {
  const threshold = Number(opts.threshold)
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > 100) {
    throw new UsageError('--threshold must be an integer from 1 to 100')
  }
  if (opts.key != null && !opts.key.startsWith('pkcs11:')) {
    throw new UsageError('--key must be a pkcs11: URI (token, object=BASE-LABEL, module-path); without it the keys are sealed with the passphrase')
  }
  const revocationKeyValidityMs = opts.revocationKeyValidity == null ? undefined : duration(opts.revocationKeyValidity, '--revocation-key-validity')
  const issuer = await Issuer.init({ dir: opts.data, store: checkedStore(opts.store), overlay: opts.overlay, bootstrap: opts.bootstrap, revocationThreshold: threshold, passphrase: await passphrase(opts.passphraseFile), keys: opts.key, offlineRoot: opts.offlineRoot, revocationKeyValidityMs })
  const pending = (await issuer.pendingRootRequests())[0]
  const out = { overlay: issuer.overlay, issuer: issuer.id, rootPublicKey: issuer.rootPublicKey, offlineRoot: issuer.offlineRoot, epoch: issuer.offlineRoot ? 1 : (await issuer.keys()).epoch, threshold, store: issuer.db.location, ...(pending != null ? { request: await writeRootRequest(pending, opts.data, opts.requestOut) } : {}) }
  await issuer.close()
  if (opts.json === true) {
    printJson(out)
  } else {
    process.stdout.write(`issuer for overlay ${out.overlay} created in ${out.store}\nroot public key ${out.rootPublicKey}${out.offlineRoot ? ' (offline: this issuer holds no root key)' : ''}\nsigning key epoch ${out.epoch}; revocation needs ${threshold} admin approval(s)\n`)
    if (pending != null && out.request != null) {
      process.stdout.write(`the issuer serves nothing until the root certifies its keys:\n${sayRootRequest(out.request, pending)}`)
    }
  }
}

/** A PEM file a flag names: missing or unreadable is bad input, said in one line. */
async function readPem (file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (err: any) {
    throw new UsageError(err.code === 'ENOENT'
      ? `${flag} ${file}: no such file`
      : `${flag} ${file}: cannot read it (${String(err.code ?? err.message)}); the issuer runs as ${userInfo().username} and needs to read it`)
  }
}

/** `--attestation tpm`: the endorsement CAs (required) and the PCR policy (without one, any boot state passes: said in the log) */
async function tpmVerifier (opts: { tpmEkCa?: string, tpmPcrPolicy?: string }, log: PinoLogger): Promise<AttestationVerifier> {
  if (opts.tpmEkCa == null) {
    throw new UsageError('--attestation tpm needs --tpm-ek-ca FILE: the CA certificates (PEM) of the TPM makers whose EK certificates you accept')
  }
  try {
    const endorsementCAs = parseEndorsementCAs(await readPem(opts.tpmEkCa, '--tpm-ek-ca'), `--tpm-ek-ca ${opts.tpmEkCa}`)
    const pcrPolicy = opts.tpmPcrPolicy == null ? new Map() : parsePcrPolicy(await readPem(opts.tpmPcrPolicy, '--tpm-pcr-policy'), `--tpm-pcr-policy ${opts.tpmPcrPolicy}`)
    if (pcrPolicy.size === 0) {
      log.warn('attestation "tpm" without a PCR policy: a genuine TPM enrols whatever it booted; give --tpm-pcr-policy')
    }
    return tpmAttestation({ endorsementCAs, pcrPolicy, now: Date.now })
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new UsageError(err.message)
    }
    throw err
  }
}

export async function issuerStartCommand (opts: { data: string, listen: string, cert?: string, key?: string, attestation: string, attestorKey?: string, tpmEkCa?: string, tpmPcrPolicy?: string, androidRoots?: string, androidPolicy?: string, androidRevocations?: string, appattestRoot?: string, appattestAppId?: string[], appattestDevelopment?: boolean, playIntegrity?: string, refuseTwins?: boolean, passphraseFile?: string, store?: string, perAddressPerSecond?: string, perPeerPerMinute?: string, tokenTtl?: string, logLevel?: string, logFormat?: string, json?: boolean }): Promise<void> {
  const tokenTtlMs = opts.tokenTtl == null ? undefined : duration(opts.tokenTtl, '--token-ttl')
  if (tokenTtlMs != null && (tokenTtlMs < TOKEN_TTL_MIN_MS || tokenTtlMs > TOKEN_TTL_MAX_MS)) {
    throw new UsageError('--token-ttl must be from 2m to 5m: long enough to refresh at half of it, short enough that a stolen token dies soon')
  }
  const perAddressPerSecond = limit(opts.perAddressPerSecond, '--per-address-per-second', 200)
  const perPeerPerMinute = limit(opts.perPeerPerMinute, '--per-peer-per-minute', 60)
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(opts.listen)
  if (match == null) {
    throw new UsageError('--listen must be HOST:PORT')
  }
  if ((opts.cert == null) !== (opts.key == null)) {
    throw new UsageError('--cert and --key go together')
  }
  // read before anything opens: a missing file is one line, not a half-started issuer
  const pem = opts.cert != null && opts.key != null ? { cert: await readPem(opts.cert, '--cert'), key: await readPem(opts.key, '--key') } : undefined
  const log = createLogger({ level: (opts.logLevel ?? 'info') as LevelName, destination: logDestination(opts.logFormat) })
  let attestation: AttestationVerifier
  if (opts.attestation === 'none') {
    attestation = noAttestation()
    log.warn('attestation "none": any holder of an enrolment code enrols; use a platform verifier in production')
  } else if (opts.attestation === 'test-attestor') {
    if (opts.attestorKey == null) {
      throw new UsageError('--attestation test-attestor needs --attestor-key (base64url raw Ed25519 public key)')
    }
    const raw = new Uint8Array(Buffer.from(opts.attestorKey, 'base64url'))
    publicKeyFromRawBytes(raw)
    attestation = testAttestor(raw)
  } else if (opts.attestation === 'android') {
    if (opts.androidRoots == null) {
      throw new UsageError('--attestation android needs --android-roots FILE (PEM: Google\'s hardware attestation roots)')
    }
    try {
      attestation = await androidAttestationFromFiles({
        roots: opts.androidRoots,
        policy: opts.androidPolicy,
        revocations: opts.androidRevocations,
        now: Date.now,
        onAccepted: verdict => { log.info(verdict, 'android attestation accepted') },
        onRevocationsError: err => { log.warn({ err: err.message }, 'the changed --android-revocations file is not usable; the last good list stays in force') }
      })
    } catch (err) {
      throw err instanceof ConfigError ? new UsageError(err.message) : err
    }
  } else if (opts.attestation === 'apple-app-attest') {
    if (opts.appattestRoot == null) {
      throw new UsageError('--attestation apple-app-attest needs --appattest-root FILE (PEM: Apple\'s App Attestation Root CA) and --appattest-app-id TEAMID.bundle.id')
    }
    try {
      attestation = await appAttestationFromFiles({ root: opts.appattestRoot, appIds: opts.appattestAppId ?? [], development: opts.appattestDevelopment, now: Date.now })
    } catch (err) {
      throw err instanceof ConfigError ? new UsageError(err.message) : err
    }
  } else if (opts.attestation === 'play-integrity') {
    if (opts.playIntegrity == null) {
      throw new UsageError('--attestation play-integrity needs --play-integrity FILE (JSON: package name and the Play Console\'s response keys)')
    }
    try {
      attestation = await playIntegrityFromFile(opts.playIntegrity, Date.now)
    } catch (err) {
      throw err instanceof ConfigError ? new UsageError(err.message) : err
    }
  } else if (opts.attestation === 'tpm') {
    attestation = await tpmVerifier(opts, log)
  } else {
    throw new UsageError('--attestation must be none, test-attestor, tpm, android, apple-app-attest or play-integrity')
  }
  if (opts.attestation !== 'play-integrity' && opts.playIntegrity != null) {
    throw new UsageError('--play-integrity goes with --attestation play-integrity')
  }
  if (opts.attestation !== 'apple-app-attest' && (opts.appattestRoot != null || (opts.appattestAppId ?? []).length > 0 || opts.appattestDevelopment === true)) {
    throw new UsageError('--appattest-root, --appattest-app-id and --appattest-development go with --attestation apple-app-attest')
  }
  if (opts.attestation !== 'android' && (opts.androidRoots ?? opts.androidPolicy ?? opts.androidRevocations) != null) {
    throw new UsageError('--android-roots, --android-policy and --android-revocations go with --attestation android')
  }
  const store = checkedStore(opts.store)
  if (store == null && !hasIssuer(opts.data)) {
    // before the lock: a mistyped directory is a usage error, and gets no LOCK file either
    throw new UsageError(noIssuerMessage(opts.data))
  }
  // one serving issuer per directory (the CLI's short commands share it, through SQLite's own locking)
  const lock = acquireDataLock(opts.data, { onStale: stale => { log.warn({ dir: opts.data, stalePid: stale?.pid }, 'took over a stale issuer directory lock (its process is gone)') } })
  let issuer: Issuer
  try {
    issuer = await openIssuer(opts.data, opts.passphraseFile, {
      store,
      tokenTtlMs,
      // an idle database connection that broke: the next request reconnects (or answers unavailable)
      onStoreError: err => { log.warn({ err: err.message }, 'issuer database connection lost') },
      attestation,
      refuseTwins: opts.refuseTwins === true,
      // the audit log has it too; the log line is what an operator sees now
      onTwin: event => { log.warn(event, event.stage === 'confirmed' ? 'two live processes refresh one credential (twin)' : 'a second client instance refreshes a credential: a twin, or a restart after a kill') }
    })
  } catch (err) {
    lock.release()
    throw err
  }
  let http: Awaited<ReturnType<typeof startIssuerHttp>>
  try {
    http = await startIssuerHttp({ issuer, host: (match[1] ?? '').replace(/^\[|\]$/g, ''), port: Number(match[2]), tls: pem, log, perAddressPerSecond, perPeerPerMinute })
  } catch (err: any) {
    await issuer.close()
    lock.release()
    if (err.code === 'EADDRINUSE') {
      throw new UsageError(`--listen ${opts.listen}: the address is already in use (another issuer, or another program: ss -ltnp); stop it or choose another port`)
    }
    if (err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
      throw new UsageError(`--listen ${opts.listen}: cannot listen there (${String(err.code)}); choose a port above 1023 and an address of this host`)
    }
    if (pem != null && /PEM|ssl|OSSL|key values mismatch/i.test(`${String(err.code)} ${String(err.message)}`)) {
      throw new UsageError(`--cert ${String(opts.cert)} and --key ${String(opts.key)}: not a matching PEM certificate and private key (${String(err.message)})`)
    }
    throw err
  }
  if (issuer.offlineRoot) {
    // what the operator owes the offline root, said where they look
    const pending = await issuer.pendingRootRequests()
    if (pending.length > 0) {
      log.warn({ requests: pending.map(p => `${p.purpose} ${p.request.nonce}`) }, 'requests await the offline root: tempus issuer requests, tempus root sign, tempus issuer import')
    }
    const expiry = await issuer.revocationKeyExpiry()
    if (expiry != null && expiry - Date.now() < 14 * 24 * 3_600_000) {
      log.warn({ expires: new Date(expiry).toISOString() }, 'the revocation key\'s certificate runs out within 14 days (then no list can be signed): tempus issuer revocation-key, then the root ceremony')
    }
  }
  if (opts.json === true) {
    printJson({ event: 'started', url: http.url, overlay: issuer.overlay, store: issuer.db.kind })
  } else {
    process.stdout.write(`issuer for ${issuer.overlay} listening on ${http.url}\n`)
  }
  // under systemd (deploy/systemd/tempus-issuer.service): ready once it listens
  const notifier = systemdNotifier({ log })
  void notifier?.notify({ READY: '1', STATUS: `serving ${http.url}` })
  let stopping = false
  const stop = (code: number): void => {
    if (stopping) return
    stopping = true
    void (async () => {
      await notifier?.notify({ STOPPING: '1' })
      await http.close()
      await issuer.close()
    })().finally(() => { lock.release(); process.exit(code) })
  }
  installSafetyNet(log, () => { stop(1) })
  process.once('SIGINT', () => { stop(0) })
  process.once('SIGTERM', () => { stop(0) })
  // SIGHUP (systemctl reload): a renewed TLS certificate and key, read again
  // from --cert/--key, for new connections; without TLS nothing to reload
  process.on('SIGHUP', () => {
    void (async () => {
      if (opts.cert == null || opts.key == null) {
        log.info('SIGHUP: nothing to reload (no --cert/--key); the issuer carries on')
        return
      }
      await notifier?.notify({ RELOADING: '1', MONOTONIC_USEC: monotonicUsec() })
      try {
        http.setTls({ cert: await readFile(opts.cert, 'utf8'), key: await readFile(opts.key, 'utf8') })
        log.info({ cert: opts.cert }, 'TLS certificate and key reloaded')
      } catch (err: any) {
        log.error({ cert: opts.cert, key: opts.key, err: err.code ?? err.message }, 'TLS certificate and key not reloaded (unreadable, or not a matching PEM pair); the previous ones stay')
      }
      await notifier?.notify({ READY: '1', STATUS: `serving ${http.url}` })
    })()
  })
  await new Promise<never>(() => {})
}

export async function issuerCodeCommand (opts: { store?: string, data: string, type?: string, typ?: string, uses: string | number, expires: string, passphraseFile?: string, json?: boolean }): Promise<void> {
  if (opts.type != null && opts.typ != null && opts.type !== opts.typ) {
    throw new UsageError(`--type ${opts.type} and --typ ${opts.typ} disagree; give --type alone`)
  }
  const type = opts.type ?? opts.typ
  if (type == null || !isPeerType(type)) {
    throw new UsageError('say which type of node the code enrols: --type edge, bridge or sentinel')
  }
  const uses = Number(opts.uses)
  const expiresMs = duration(opts.expires, '--expires')
  const issuer = await openIssuer(opts.data, opts.passphraseFile, { store: opts.store })
  try {
    const code = await issuer.createCode(type, uses, expiresMs)
    if (opts.json === true) {
      printJson({ code, type, typ: type, uses })
    } else {
      process.stdout.write(code + '\n')
    }
  } finally {
    await issuer.close()
  }
}

export async function issuerRotateCommand (opts: { store?: string, data: string, announce?: boolean, activate?: boolean, delay?: string, passphraseFile?: string, json?: boolean }): Promise<void> {
  if (opts.announce !== true && opts.activate !== true && opts.delay == null) {
    throw new UsageError('say --announce, --activate, or --delay DURATION (announce, wait, activate)')
  }
  const issuer = await openIssuer(opts.data, opts.passphraseFile, { store: opts.store })
  try {
    const out: Record<string, unknown> = {}
    if (opts.announce === true || opts.delay != null) {
      const { certificate: _certificate, request, ...announced } = await issuer.announceKey()
      out.announced = announced
      if (request != null) {
        // an offline root: the key waits for its certificate, and activation for the import
        const path = await writeRootRequest(request, opts.data)
        out.request = path
        if (opts.delay != null || opts.activate === true) {
          throw new UsageError(`the root is offline: ${sayRootRequest(path, request)}then: tempus issuer rotate-key --activate`)
        }
      }
    }
    if (opts.delay != null) {
      await new Promise(resolve => setTimeout(resolve, duration(opts.delay as string, '--delay')))
    }
    if (opts.activate === true || opts.delay != null) {
      out.activated = await issuer.activateKey()
    }
    if (opts.json === true) {
      printJson(out)
    } else {
      process.stdout.write(JSON.stringify(out, null, 2) + '\n')
    }
  } finally {
    await issuer.close()
  }
}

export async function issuerRevokeCommand (peerId: string, opts: { store?: string, data: string, reason: string, passphraseFile?: string, json?: boolean }): Promise<void> {
  const issuer = await openIssuer(opts.data, opts.passphraseFile, { store: opts.store })
  try {
    const request = await issuer.requestRevocation(peerId, opts.reason)
    if (opts.json === true) {
      printJson(request)
    } else {
      process.stdout.write(`revocation request ${request.id}: ${request.threshold} admin approval(s) needed\napprove with: tempus admin approve ${request.id} --key ADMINKEY --issuer URL\n`)
    }
  } finally {
    await issuer.close()
  }
}

export async function issuerRevocationsCommand (opts: { store?: string, data: string, passphraseFile?: string, json?: boolean }): Promise<void> {
  const issuer = await openIssuer(opts.data, opts.passphraseFile, { store: opts.store })
  try {
    const pending = await issuer.pendingRevocations()
    if (opts.json === true) {
      printJson(pending)
    } else if (pending.length === 0) {
      process.stdout.write('no revocation request awaits approval\n')
    } else {
      for (const r of pending) {
        process.stdout.write(`${r.id}  ${r.peerId}  ${r.approvals}/${r.threshold}  ${r.reason}\n`)
      }
      process.stdout.write('approve with: tempus admin approve ID --key ADMINKEY --issuer URL\n')
    }
  } finally {
    await issuer.close()
  }
}

export async function issuerAdminAddCommand (opts: { store?: string, data: string, name: string, key: string, passphraseFile?: string, json?: boolean }): Promise<void> {
  const issuer = await openIssuer(opts.data, opts.passphraseFile, { store: opts.store })
  try {
    const request = await issuer.addAdmin(opts.key, opts.name)
    if (request != null) {
      // an offline root registers admins: the admin counts once its answer is imported
      const path = await writeRootRequest(request, opts.data)
      if (opts.json === true) {
        printJson({ requested: { name: opts.name, publicKey: opts.key }, request: path })
      } else {
        process.stdout.write(`admin ${opts.name} awaits the root's certificate\n${sayRootRequest(path, request)}`)
      }
    } else if (opts.json === true) {
      printJson({ added: { name: opts.name, publicKey: opts.key } })
    } else {
      process.stdout.write(`admin ${opts.name} added\n`)
    }
  } finally {
    await issuer.close()
  }
}

export async function issuerAuditVerifyCommand (opts: { store?: string, data: string, passphraseFile?: string, json?: boolean }): Promise<void> {
  const issuer = await openIssuer(opts.data, opts.passphraseFile, { store: opts.store })
  try {
    const result = await issuer.audit.verify(issuer.auditPublicKey)
    if (opts.json === true) {
      printJson(result)
    } else {
      process.stdout.write(result.ok
        ? `audit log verified: ${result.size} entries, ${result.checkpoints} signed checkpoints consistent\n`
        : `AUDIT LOG DOES NOT VERIFY:\n${result.problems.map(p => `  - ${p}`).join('\n')}\n`)
    }
    if (!result.ok) {
      process.exitCode = 1
    }
  } finally {
    await issuer.close()
  }
}

export async function issuerBootstrapCommand (opts: { data: string, set?: string[], passphraseFile?: string, store?: string, json?: boolean }): Promise<void> {
  const issuer = await openIssuer(opts.data, opts.passphraseFile, { store: opts.store })
  try {
    if (opts.set != null) {
      try {
        await issuer.setBootstrap(opts.set)
      } catch (err: any) {
        throw new UsageError(`--set: ${String(err.message)}`)
      }
    }
    const bootstrap = (await issuer.overlayConfig()).bootstrap ?? []
    if (opts.json === true) {
      printJson({ bootstrap })
    } else {
      process.stdout.write(bootstrap.length === 0 ? 'no bootstrap peers: enrolled nodes get none (set them with --set MULTIADDR...)\n' : bootstrap.join('\n') + '\n')
    }
  } finally {
    await issuer.close()
  }
}

export async function issuerReplicasCommand (opts: { data: string, set?: string[], passphraseFile?: string, store?: string, json?: boolean }): Promise<void> {
  const issuer = await openIssuer(opts.data, opts.passphraseFile, { store: opts.store })
  try {
    if (opts.set != null) {
      try {
        await issuer.setIssuerUrls(opts.set)
      } catch (err: any) {
        throw new UsageError(`--set: ${String(err.message)}`)
      }
    }
    const issuers = (await issuer.overlayConfig()).issuers ?? []
    if (opts.json === true) {
      printJson({ issuers })
    } else {
      process.stdout.write(issuers.length === 0 ? 'no replica URLs set: nodes know only the URL they enrolled with (set them with --set URL...)\n' : issuers.join('\n') + '\n')
    }
  } finally {
    await issuer.close()
  }
}
