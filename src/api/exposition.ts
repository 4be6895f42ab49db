/**
 * Prometheus's own lint (`promtool check metrics`) for families that are not
 * ours to rename at their source: libp2p's and prom-client's default
 * metrics, registered on the node's registry by packages in node_modules.
 * `/metrics` passes its text through `lintClean`, which rewrites the
 * exposition, family by family, at scrape time:
 *
 * - a gauge named `*_total` (only counters may end so) loses the suffix,
 *   unless a family of that name exists already: then it is the sum of that
 *   family's series (`nodejs_active_handles_total` of `nodejs_active_handles`)
 *   and is dropped, since the sum is one PromQL `sum()` away (a name left
 *   ending in `_bucket`, `_count` or `_sum`, reserved for histograms and
 *   summaries, takes an `s`: `tempus_kad_routing_table_kad_buckets`);
 * - a counter without `_total` gains it;
 * - `*_milliseconds*` becomes `*_seconds*`, its values (and a histogram's
 *   `le` bounds and `_sum`) divided by 1000, so the base unit is true.
 *
 * Families that are already clean (all of `tempus_*`) pass unchanged. Pure:
 * text in, text out.
 */

interface Family {
  name: string
  type: string
  help?: string
  /** sample lines, verbatim */
  samples: string[]
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(\s+\S+)?$/

function parse (text: string): Family[] {
  const families: Family[] = []
  const byName = new Map<string, Family>()
  const family = (name: string): Family => {
    let f = byName.get(name)
    if (f == null) {
      f = { name, type: 'untyped', samples: [] }
      byName.set(name, f)
      families.push(f)
    }
    return f
  }
  let current: Family | undefined
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
    if (meta != null) {
      current = family(meta[2] as string)
      if (meta[1] === 'HELP') current.help = meta[3]
      else current.type = meta[3] as string
      continue
    }
    if (line.startsWith('#')) continue
    if (current == null) {
      const m = SAMPLE.exec(line)
      current = family(m?.[1] ?? line)
    }
    current.samples.push(line)
  }
  return families
}

/** the unit prefix to scale: `_milliseconds` as a whole word of the name */
const MILLIS = /_milliseconds(?=_|$)/

function rename (f: Family, to: string, scale: boolean): Family {
  const samples = f.samples.map(line => {
    const m = SAMPLE.exec(line)
    if (m == null || !(m[1] as string).startsWith(f.name)) return line
    const suffix = (m[1] as string).slice(f.name.length)
    let labels = m[2] ?? ''
    let value = m[3] as string
    if (scale) {
      // a histogram's bucket counts and a summary's _count are counts, not milliseconds
      if (suffix === '_bucket') {
        labels = labels.replace(/le="([^"]+)"/, (_all, le: string) => `le="${le === '+Inf' ? le : String(Number(le) / 1000)}"`)
      } else if (suffix !== '_count') {
        value = String(Number(value) / 1000)
      }
    }
    return `${to}${suffix}${labels} ${value}${m[4] ?? ''}`
  })
  return { ...f, name: to, samples }
}

/** The exposition with every family lint-clean (see the file's comment). */
export function lintClean (text: string): string {
  const families = parse(text)
  const names = new Set(families.map(f => f.name))
  const out: Family[] = []
  for (let f of families) {
    let name = f.name
    const scale = MILLIS.test(name)
    if (scale) name = name.replace(MILLIS, '_seconds')
    if (f.type !== 'counter' && name.endsWith('_total')) {
      name = name.slice(0, -'_total'.length)
      if (names.has(name)) continue
      // `_bucket`, `_count` and `_sum` belong to histograms and summaries: a plain count of buckets is `_buckets`
      if (/_(bucket|count|sum)$/.test(name)) name = `${name}s`
    } else if (f.type === 'counter' && !name.endsWith('_total')) {
      name = `${name}_total`
    }
    if (name !== f.name) {
      if (names.has(name)) continue
      names.add(name)
      f = rename(f, name, scale)
      if (scale && f.help != null) f.help = `${f.help} (seconds)`
    }
    out.push(f)
  }
  return out.map(f => [
    ...(f.help != null ? [`# HELP ${f.name} ${f.help}`] : []),
    `# TYPE ${f.name} ${f.type}`,
    ...f.samples
  ].join('\n')).join('\n') + '\n'
}
