/**
 * The admin API's bearer token: 32 random bytes kept in the node's data
 * directory with mode 0600 (`tempus status` reads it there to call the
 * API; the API compares what it is shown in constant time, `api/token.ts`).
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { writeFileDurably } from '../identity/key-store.ts'

export function generateApiToken (): string {
  return randomBytes(32).toString('base64url')
}

export async function loadOrCreateApiToken (path: string): Promise<string> {
  try {
    const token = (await readFile(path, 'utf8')).trim()
    if (token.length >= 32) {
      return token
    }
  } catch (err: any) {
    if (err.code !== 'ENOENT') {
      throw err
    }
  }
  const token = generateApiToken()
  await writeFileDurably(path, token + '\n', 0o600)
  return token
}
