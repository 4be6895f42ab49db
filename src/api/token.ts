/** The admin API's bearer token, compared in constant time (the node keeps it: `node/api-token.ts`). */
import { createHash, timingSafeEqual } from 'node:crypto'

/** Constant-time comparison: both sides are hashed first, so lengths leak nothing. */
export function tokensEqual (presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}
