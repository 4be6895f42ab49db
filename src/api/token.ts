/**
 * The admin API's bearer token: 32 random bytes kept in the data directory
 * with mode 0600, compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
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

/** Constant-time comparison: both sides are hashed first, so lengths leak nothing. */
export function tokensEqual (presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}
