#!/usr/bin/env node
import { buildProgram } from './program.ts'

const EXPECTED = new Set(['ConfigError', 'DataDirError', 'NodeNotRunningError', 'NotEnrolledError', 'IdentityError', 'UsageError', 'ApiError', 'IssuerError', 'IssuerClientError'])

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
