/**
 * `If-None-Match` as RFC 9110 §13.1.2 reads it: `*`, or a list of entity
 * tags compared weakly (a `W/` prefix on either side is ignored; the opaque
 * tags must be equal, quotes included). A cache that sends back what it got
 * (`W/"7"` from a proxy that weakened it, or several tags it holds) is
 * answered 304 when one of them is current.
 */

/** Does the `If-None-Match` header `header` match the current entity tag `etag` (e.g. `"7"`)? */
export function etagMatches (header: string | string[] | undefined, etag: string): boolean {
  if (header == null) {
    return false
  }
  const text = Array.isArray(header) ? header.join(',') : header
  if (text.trim() === '*') {
    return true
  }
  const want = etag.startsWith('W/') ? etag.slice(2) : etag
  // each tag is quoted (a comma may sit inside the quotes): read them as such
  for (const match of text.matchAll(/(?:W\/)?("[^"]*")/g)) {
    if (match[1] === want) {
      return true
    }
  }
  return false
}
