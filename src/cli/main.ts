/**
 * The `tempus` CLI behind the runtime check of `bin.ts`: parses the command
 * line and turns every error into one line that says what is wrong and what
 * to do, with the exit code the README promises: 0 done, 1 failed, 2 bad
 * input (a parse error, a value out of range, a file or port that the flags
 * name and that cannot be used). With `--json` the error is a JSON object on
 * stderr, `{"error":{"code","message"}}`, and stdout stays for results.
 */
import { CommanderError } from 'commander'
import { buildProgram } from './program.ts'
import { passphraseHint } from './passphrase.ts'
import type { Command } from 'commander'

const EXPECTED = new Set(['ConfigError', 'DataDirError', 'NodeNotRunningError', 'NotEnrolledError', 'IdentityError', 'UsageError', 'ApiError', 'IssuerError', 'IssuerClientError', 'IssuerUrlError', 'StorageError', 'DataDirLockedError', 'RekeyError', 'StoreUrlError', 'TpmToolError'])
const BAD_INPUT = new Set(['UsageError', 'ConfigError'])

// every file the CLI creates holds state or keys: owner only, whoever creates
// it (SQLite, the libp2p datastore, pino's log files, our own writers)
process.umask(0o077)

const args = process.argv.slice(2)
const end = args.indexOf('--')
const json = (end === -1 ? args : args.slice(0, end)).includes('--json')

function everyCommand (command: Command): Command[] {
  return [command, ...command.commands.flatMap(everyCommand)]
}

/** A socket error (a port in use, a port not ours to take) in `err` or its causes. */
function addressError (err: any): { code: string, address?: string, port?: number } | undefined {
  for (let e = err, depth = 0; e != null && depth < 5; e = e.cause, depth++) {
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
      if (e.syscall === 'listen' || e.syscall === 'bind' || e.address != null) {
        return e
      }
    }
  }
  return undefined
}

function fail (code: string, message: string, exitCode: number): never {
  if (json) {
    process.stderr.write(JSON.stringify({ error: { code, message } }) + '\n')
  } else {
    process.stderr.write(`tempus: ${message}\n`)
  }
  process.exit(exitCode)
}

const program = buildProgram()
for (const command of everyCommand(program)) {
  // commander's own errors come back here to be given exit code 2 (and JSON)
  command.exitOverride()
  if (json) {
    command.configureOutput({ writeErr: () => {}, outputError: () => {} })
  }
}

try {
  await program.parseAsync(process.argv)
} catch (err: any) {
  if (err instanceof CommanderError) {
    // --help and --version end here too, with exit code 0
    if (err.exitCode === 0) {
      process.exit(0)
    }
    // commander has said it (and shown the usage); with --json it kept quiet for this
    if (!json) {
      process.exit(2)
    }
    fail('usage', err.message.replace(/^error: /, ''), 2)
  }
  // libp2p names each listen address that failed in its message, with the socket error's stack
  if (err?.name === 'UnsupportedListenAddressesError') {
    const failed = [...String(err.message).matchAll(/^\s+(\/\S+): \w*Error: (?:listen )?(\w+)/gm)].map(m => `${m[1] ?? ''} (${m[2] === 'EADDRINUSE' ? 'address in use' : m[2] ?? ''})`)
    fail('address', `cannot listen on ${failed.length > 0 ? failed.join(', ') : 'a configured address'}: stop what listens there (ss -ltnp), or change --listen or listen in the config file (tcp/0 picks a free port)`, 2)
  }
  const socket = addressError(err)
  if (socket != null) {
    const where = socket.address == null ? '' : ` ${socket.address}${socket.port == null ? '' : `:${socket.port}`}`
    fail('address', socket.code === 'EADDRINUSE'
      ? `the address${where} is already in use (is another node or issuer running? see: ss -ltnp); stop it or choose another port`
      : `cannot listen on${where} (${String(socket.code)}): choose a port above 1023 or an address of this host`, 2)
  }
  if (EXPECTED.has(err?.name)) {
    const message = /wrong passphrase/.test(String(err.message)) ? `${String(err.message)}${passphraseHint()}` : String(err.message)
    fail(typeof err.code === 'string' ? err.code : 'error', message, BAD_INPUT.has(err.name) ? 2 : 1)
  }
  if (json) {
    fail('unexpected', String(err?.message ?? err), 1)
  }
  process.stderr.write(`tempus: unexpected error: ${err?.stack ?? err}\n`)
  process.exit(1)
}
