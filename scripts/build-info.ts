/**
 * Writes dist/build-info.json after `tsc` (`npm run build`): the package
 * version and, when the source is a git checkout, the commit it was built
 * from; `tempus version` prints them. Without git it records no commit.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const pkg = JSON.parse(readFileSync(new URL('package.json', `file://${root}`), 'utf8'))

function git (...args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return undefined
  }
}

const commit = git('rev-parse', 'HEAD')
const info = {
  version: String(pkg.version),
  ...(commit != null ? { commit, dirty: (git('status', '--porcelain', '--untracked-files=no') ?? '') !== '' } : {}),
  builtAt: new Date().toISOString()
}
writeFileSync(new URL('dist/build-info.json', `file://${root}`), JSON.stringify(info, null, 2) + '\n')
