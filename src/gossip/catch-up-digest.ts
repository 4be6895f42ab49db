/**
 * What a catch-up asker holds, small enough to send with every request
 * (`/tempus/anomaly/catchup/1.1.0`, protocols/gossip.md): the window it
 * asks about is cut into equal time buckets, and each bucket is summed up
 * as the XOR of the first 8 bytes of the ids held in it. The server sums
 * up its own anomalies the same way and sends only the buckets whose sums
 * differ.
 *
 * Why: a catch-up used to ask for what was published since the newest
 * anomaly held, less a minute. A node on one side of a partition kept
 * receiving its own side's anomalies, so by the time it caught up from the
 * other side its newest had moved on and what the other side published
 * during the partition lay before the window, for good (the chaos harness,
 * issue #20: 100 nodes, anomalies of the partition missing at up to 29
 * nodes at the end). With digests the window can be the whole last hour
 * at the cost of a few hundred bytes a request: a node in step gets an
 * empty answer; one that missed something gets the buckets it is in.
 *
 * Ids are hashes (anomaly-id.ts), so an XOR of their prefixes is as good as
 * a hash of the set against honest differences; a server that wants to
 * withhold something can do so anyway, and the next catch-up (another
 * peer) fills the gap. Pure: no store, no I/O.
 */

/** bytes of one bucket's digest */
export const DIGEST_BYTES = 8

/** How the window is cut: bucket i holds timestamps in [start + i × span, start + (i + 1) × span); the last also every later one. */
export interface DigestLayout {
  start: number
  span: number
  buckets: number
}

/** A layout of `buckets` equal buckets from `start` to `now` (each at least 1 s). */
export function digestLayout (start: number, now: number, buckets: number): DigestLayout {
  return { start, span: Math.max(1_000, Math.ceil((now - start) / buckets)), buckets }
}

/** the bucket a timestamp falls in, or -1 before the window */
export function bucketOf (layout: DigestLayout, timestamp: number): number {
  if (timestamp < layout.start) {
    return -1
  }
  return Math.min(layout.buckets - 1, Math.floor((timestamp - layout.start) / layout.span))
}

/** The digests of these (timestamp, hex id) rows, `DIGEST_BYTES` per bucket. */
export function bucketDigests (rows: Iterable<{ timestamp: number, id: string }>, layout: DigestLayout): Uint8Array {
  // two 32-bit halves per bucket: a server sums up every row it holds of the window for each request
  const sums = new Uint32Array(layout.buckets * 2)
  for (const row of rows) {
    const b = bucketOf(layout, row.timestamp)
    if (b >= 0) {
      sums[2 * b] = ((sums[2 * b] as number) ^ halfOf(row.id, 0)) >>> 0
      sums[2 * b + 1] = ((sums[2 * b + 1] as number) ^ halfOf(row.id, 8)) >>> 0
    }
  }
  const out = new Uint8Array(layout.buckets * DIGEST_BYTES)
  const view = new DataView(out.buffer)
  sums.forEach((half, i) => { view.setUint32(i * 4, half) })
  return out
}

/** 32 bits of a hex id from hex digit `at` (a digit that is not hex counts as 0) */
function halfOf (id: string, at: number): number {
  const v = Number.parseInt(id.slice(at, at + 8).padEnd(8, '0'), 16)
  return Number.isNaN(v) ? 0 : v >>> 0
}

/**
 * The time ranges whose buckets differ between two digests of one layout,
 * in time order, adjacent buckets merged; the last bucket's range is open
 * at its end (`to` is Infinity).
 */
export function differingRanges (mine: Uint8Array, theirs: Uint8Array, layout: DigestLayout): Array<{ from: number, to: number }> {
  const ranges: Array<{ from: number, to: number }> = []
  for (let i = 0; i < layout.buckets; i++) {
    let same = true
    for (let j = i * DIGEST_BYTES; j < (i + 1) * DIGEST_BYTES; j++) {
      if (mine[j] !== theirs[j]) {
        same = false
        break
      }
    }
    if (same) {
      continue
    }
    const from = layout.start + i * layout.span
    const to = i === layout.buckets - 1 ? Number.POSITIVE_INFINITY : from + layout.span
    const last = ranges.at(-1)
    if (last != null && last.to === from) {
      last.to = to
    } else {
      ranges.push({ from, to })
    }
  }
  return ranges
}
