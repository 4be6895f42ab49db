/**
 * The runtime `tempus` needs, checked before anything else is imported: an
 * older Node.js would otherwise die on its first `import 'node:sqlite'` with
 * `ERR_UNKNOWN_BUILTIN_MODULE`, which says nothing of the fix. This module
 * imports nothing and uses nothing newer than Node.js 18, so that any Node.js
 * that can load an ES module reaches the message.
 */

/** the oldest Node.js with `node:sqlite` unflagged; package.json's `engines.node` says the same */
export const MIN_NODE = '22.13.0'

function parts (version: string): number[] {
  return version.replace(/^v/, '').split('.').map(p => Number.parseInt(p, 10) || 0)
}

export function isSupported (version: string, min = MIN_NODE): boolean {
  const have = parts(version)
  const need = parts(min)
  for (let i = 0; i < 3; i++) {
    const h = have[i] ?? 0
    const n = need[i] ?? 0
    if (h !== n) {
      return h > n
    }
  }
  return true
}

/** The message for an unsupported runtime, or undefined when this one will do. */
export function runtimeProblem (version: string, execPath: string): string | undefined {
  if (isSupported(version)) {
    return undefined
  }
  return `tempus: needs Node.js ${MIN_NODE} or newer (it stores state with node:sqlite); this is Node.js v${version.replace(/^v/, '')} at ${execPath}.\n` +
    '  Install Node.js 24 LTS: https://nodejs.org/en/download (or: nvm install 24, or your distribution\'s nodejs 24 package),\n' +
    '  or, in a tempus-mesh checkout after npm ci, run the Node.js it installed: ./node_modules/.bin/node dist/src/cli/bin.js --help\n'
}
