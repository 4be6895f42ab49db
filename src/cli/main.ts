import { buildProgram } from './program.ts'

const EXPECTED = new Set(['ConfigError', 'DataDirError', 'NodeNotRunningError', 'NotEnrolledError', 'IdentityError', 'UsageError', 'ApiError', 'IssuerError', 'IssuerClientError', 'IssuerUrlError', 'StorageError', 'DataDirLockedError', 'RekeyError', 'StoreUrlError'])

// every file the CLI creates holds state or keys: owner only, whoever creates
// it (SQLite, the libp2p datastore, pino's log files, our own writers)
process.umask(0o077)

try {
  await buildProgram().parseAsync(process.argv)
} catch (err: any) {
  if (EXPECTED.has(err?.name)) {
    process.stderr.write(`tempus: ${err.message}\n`)
    process.exit(err.name === 'UsageError' || err.name === 'ConfigError' ? 2 : 1)
  }
  process.stderr.write(`tempus: unexpected error: ${err?.stack ?? err}\n`)
  process.exit(1)
}
