#!/usr/bin/env node
/**
 * The `tempus` executable. It checks the runtime first and only then loads
 * the CLI (`main.ts`), whose imports reach `node:sqlite`: an older Node.js
 * gets a sentence saying which Node.js is needed and how to get it.
 */
import { runtimeProblem } from './runtime-check.ts'
import { useMemorySettings } from './heap-settings.ts'

const problem = runtimeProblem(process.versions.node, process.execPath)
if (problem != null) {
  process.stderr.write(problem)
  process.exit(1)
}
// before the CLI's modules load: loading them is what grows the young generation (and cuts pool slabs)
useMemorySettings(process.argv.slice(2), process.execArgv, process.env.NODE_OPTIONS)
await import('./main.ts')
