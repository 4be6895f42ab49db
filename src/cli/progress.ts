/**
 * A progress line for work a person waits on (deriving a key with scrypt,
 * enrolment, opening a node's stores): nothing when it is quick, one line on
 * stderr once it has taken a second (`tempus: deriving … (scrypt)…`) and one
 * when it ends. Never with --json, whose readers parse the output.
 */

/** after how long a line is printed; TEMPUS_PROGRESS_AFTER_MS lowers it (tests) */
export const PROGRESS_AFTER_MS = 1_000

export async function withProgress<T> (what: string, work: () => Promise<T>, options: { json?: boolean } = {}): Promise<T> {
  if (options.json === true) {
    return await work()
  }
  const raw = process.env.TEMPUS_PROGRESS_AFTER_MS
  const env = raw == null || raw === '' ? Number.NaN : Number(raw)
  const after = Number.isFinite(env) && env >= 0 ? env : PROGRESS_AFTER_MS
  const started = performance.now()
  let shown = false
  const timer = setTimeout(() => {
    shown = true
    process.stderr.write(`tempus: ${what}…\n`)
  }, after)
  try {
    const result = await work()
    if (shown) {
      process.stderr.write(`tempus: ${what}: done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`)
    }
    return result
  } finally {
    // a failure says itself, in the line after
    clearTimeout(timer)
  }
}
