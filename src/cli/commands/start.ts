import { watchFile } from 'node:fs'
import { loadConfigFile, parseConfig } from '../../node/config.ts'
import { dataPath, RESETTABLE_STORES } from '../../node/data-dir.ts'
import { UsageError } from '../errors.ts'
import { createTempusNode } from '../../node/tempus-node.ts'
import { createLogger, setLogLevel } from '../../logging/logger.ts'
import { monotonicUsec, systemdNotifier } from '../sd-notify.ts'
import { statusLine, watchReadiness } from '../readiness-watch.ts'
import type { ReadinessWatch } from '../readiness-watch.ts'
import type { AdminApiStarter } from '../../node/tempus-node.ts'
import { cliPassphrase as resolvePassphrase } from '../passphrase.ts'
import { installSafetyNet } from '../safety-net.ts'
import { printJson } from '../output.ts'
import { logDestination } from '../log-format.ts'
import { withProgress } from '../progress.ts'

export interface StartOptions {
  data: string
  listen: string[]
  bootstrap: string[]
  mdns: boolean
  api?: string
  logLevel?: string
  /** json (default) or pretty */
  logFormat?: string
  passphraseFile?: string
  json?: boolean
  /** stores whose loss the operator accepts (`--reset-store NAME`, repeatable) */
  resetStore?: string[]
}

/**
 * Run a node in the foreground until SIGINT or SIGTERM. Under systemd
 * (`NOTIFY_SOCKET`, deploy/systemd/tempus-node.service) it reports readiness;
 * SIGHUP reloads the config file's RPC policy and log level in place.
 */
/** the admin API (fastify, the dashboard) is loaded only by a node that serves it */
const startAdminApi: AdminApiStarter = async init => await (await import('../../api/server.ts')).startAdminApi(init)

export async function startCommand (options: StartOptions): Promise<void> {
  for (const name of options.resetStore ?? []) {
    if (!Object.hasOwn(RESETTABLE_STORES, name)) {
      throw new UsageError(`--reset-store ${JSON.stringify(name)}: no such store; the stores are ${Object.keys(RESETTABLE_STORES).join(', ')}`)
    }
  }
  const overrides: Record<string, unknown> = {}
  const file = await loadConfigFile(dataPath(options.data, 'config'))
  if (options.listen.length > 0) {
    overrides.listen = options.listen
  }
  if (options.bootstrap.length > 0) {
    overrides.bootstrap = options.bootstrap
  }
  if (!options.mdns) {
    overrides.mdns = { ...file.mdns, enabled: false }
  }
  if (options.api != null) {
    overrides.api = { enabled: true, listen: options.api }
  }
  if (options.logLevel != null) {
    overrides.log = { level: options.logLevel }
  }
  // the flags replace the file's fields and are validated with them
  const config = parseConfig({ ...file, ...overrides })
  const log = createLogger({ level: config.log.level, destination: logDestination(options.logFormat) })
  const passphrase = await resolvePassphrase({ file: options.passphraseFile })
  const notifier = systemdNotifier({ log })

  let stopping: Promise<void> | undefined
  let node: Awaited<ReturnType<typeof createTempusNode>> | undefined
  let readiness: ReadinessWatch | undefined
  const shutdown = async (reason: string, code: number): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason }, 'shutting down')
      readiness?.stop()
      await notifier?.notify({ STOPPING: '1', STATUS: `stopping (${reason})` })
      await node?.stop().catch(err => { log.error({ err }, 'error while stopping') })
      log.flush()
      process.exit(code)
    })()
    return stopping
  }
  installSafetyNet(log, () => { void shutdown('fatal error', 1) })
  process.once('SIGINT', () => { void shutdown('SIGINT', 0) })
  process.once('SIGTERM', () => { void shutdown('SIGTERM', 0) })

  node = await withProgress('starting the node: decrypting its key (scrypt), opening and recovering its stores, fetching a token', async () => await createTempusNode(config, { dataDir: options.data, logger: log, passphrase: passphrase.value, resetStores: options.resetStore, adminApi: startAdminApi }), options)
  if (passphrase.source === 'dev-default') {
    log.warn('INSECURE: the identity key is protected by the public development passphrase')
  }
  // the RPC policy and the log level follow the config file: reloaded on
  // SIGHUP and on change, in place (no connection is closed); a flag given
  // at start (--log-level) still wins over the file
  const configPath = dataPath(options.data, 'config')
  const reload = async (why: string): Promise<void> => {
    try {
      const next = await loadConfigFile(configPath, overrides)
      node?.rpc.policy.replace(next.rpc.rules as any)
      setLogLevel(log, next.log.level)
      log.info({ why, rules: next.rpc.rules.length, logLevel: next.log.level }, 'configuration reloaded: RPC policy and log level')
    } catch (err: any) {
      log.error({ why, err: err.message }, 'configuration not reloaded; the previous RPC policy and log level stay')
    }
  }
  process.on('SIGHUP', () => {
    void (async () => {
      // systemd hears of a reload only once it has heard READY=1
      const told = readiness?.readySent === true
      if (told) {
        await notifier?.notify({ RELOADING: '1', MONOTONIC_USEC: monotonicUsec(), STATUS: 'reloading the configuration' })
      }
      await reload('SIGHUP')
      if (told) {
        await notifier?.notify({ READY: '1', STATUS: node == null ? 'configuration reloaded' : statusLine(node.readiness()) })
      }
      readiness?.check()
    })()
  })
  watchFile(configPath, { interval: 1_000 }, (cur, prev) => { if (cur.mtimeMs !== prev.mtimeMs) void reload('file changed') })
  readiness = watchReadiness(node, log, notifier)
  const status = node.status()
  if (options.json === true) {
    printJson({ event: 'started', peerId: status.peerId, type: status.type, addrs: status.addrs, api: status.api })
  } else {
    process.stdout.write(`tempus ${status.type} node ${status.peerId}\n`)
    for (const addr of status.addrs) {
      process.stdout.write(`  listening on ${addr}\n`)
    }
    process.stdout.write(`  admin API ${status.api ?? 'disabled'}\n`)
  }
  await new Promise<never>(() => {})
}
