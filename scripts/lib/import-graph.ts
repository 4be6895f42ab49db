/**
 * The source tree's import graph, and the two rules it must keep:
 * - no import circle between files (a circle makes load order matter and
 *   ties two concepts into one);
 * - no import against the layers: each top-level folder of `src/` may
 *   import only the folders listed for it in `LAYERS` (`ARCHITECTURE.md`
 *   draws them). A folder not listed is an error too, so a new folder
 *   must be placed before it is used.
 * Reads files as text (static `import … from` and `export … from`, and
 * `import('…')`); type-only imports count: they tie concepts as much.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative, sep } from 'node:path'

/** What each folder of src/ may import (besides itself). The root `index.ts` may import anything. */
export const LAYERS: Record<string, readonly string[]> = {
  core: [],
  logging: ['core'],
  storage: ['core'],
  identity: ['core', 'storage'],
  http: ['core', 'logging'],
  liveness: ['core'],
  'issuer-client': ['core'],
  admission: ['core', 'identity', 'storage', 'liveness', 'issuer-client'],
  discovery: ['core', 'logging'],
  sampling: ['core', 'admission', 'liveness'],
  rpc: ['core', 'admission'],
  gossip: ['core', 'admission', 'storage'],
  dtn: ['core', 'admission', 'storage'],
  federation: ['core', 'admission', 'storage', 'rpc', 'gossip', 'dtn'],
  issuer: ['core', 'admission', 'issuer-client', 'http', 'identity', 'liveness', 'logging', 'storage'],
  node: ['core', 'logging', 'storage', 'identity', 'liveness', 'issuer-client', 'admission', 'discovery', 'sampling', 'rpc', 'gossip', 'dtn', 'federation'],
  api: ['core', 'logging', 'http', 'identity', 'admission', 'issuer-client', 'sampling', 'rpc', 'gossip', 'dtn', 'federation', 'liveness'],
  cli: ['core', 'logging', 'storage', 'identity', 'http', 'liveness', 'issuer-client', 'admission', 'discovery', 'sampling', 'rpc', 'gossip', 'dtn', 'federation', 'issuer', 'node', 'api']
}

export interface ImportEdge { from: string, to: string }

export interface ImportReport {
  files: number
  edges: number
  /** each circle as the files on it, in order */
  circles: string[][]
  /** imports a folder may not make */
  upward: Array<ImportEdge & { why: string }>
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g

function sourceFiles (dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) {
      out.push(...sourceFiles(path))
    } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
      out.push(path)
    }
  }
  return out
}

/** The import edges between files under `srcDir` (paths relative to it). */
export function importEdges (srcDir: string): { files: string[], edges: ImportEdge[] } {
  const files = sourceFiles(srcDir).map(f => relative(srcDir, f))
  const known = new Set(files)
  const edges: ImportEdge[] = []
  for (const file of files) {
    const text = readFileSync(join(srcDir, file), 'utf8')
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? ''
      if (!spec.startsWith('.')) continue
      const target = normalize(join(dirname(file), spec))
      if (known.has(target)) {
        edges.push({ from: file, to: target })
      }
    }
  }
  return { files, edges }
}

/** The top-level folder of a file under src/ (`index.ts` at the root is its own). */
export function folderOf (file: string): string {
  const parts = file.split(sep)
  return parts.length === 1 ? '.' : parts[0] as string
}

/** Circles between files: every strongly connected component of more than one file (Tarjan). */
export function findCircles (files: string[], edges: ImportEdge[]): string[][] {
  const next = new Map<string, string[]>(files.map(f => [f, []]))
  for (const e of edges) next.get(e.from)?.push(e.to)
  let index = 0
  const indexOf = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  // iterative, so a deep graph cannot overflow the call stack
  for (const start of files) {
    if (indexOf.has(start)) continue
    const work: Array<{ node: string, i: number }> = [{ node: start, i: 0 }]
    indexOf.set(start, index); low.set(start, index); index++
    stack.push(start); onStack.add(start)
    while (work.length > 0) {
      const top = work[work.length - 1] as { node: string, i: number }
      const succ = next.get(top.node) ?? []
      if (top.i < succ.length) {
        const w = succ[top.i++] as string
        if (!indexOf.has(w)) {
          indexOf.set(w, index); low.set(w, index); index++
          stack.push(w); onStack.add(w)
          work.push({ node: w, i: 0 })
        } else if (onStack.has(w)) {
          low.set(top.node, Math.min(low.get(top.node) as number, indexOf.get(w) as number))
        }
      } else {
        work.pop()
        const parent = work[work.length - 1]
        if (parent != null) low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(top.node) as number))
        if (low.get(top.node) === indexOf.get(top.node)) {
          const component: string[] = []
          let w: string
          do {
            w = stack.pop() as string
            onStack.delete(w)
            component.push(w)
          } while (w !== top.node)
          if (component.length > 1) out.push(component.reverse())
        }
      }
    }
  }
  return out
}

/** Check `srcDir` against both rules. */
export function checkImports (srcDir: string, layers: Record<string, readonly string[]> = LAYERS): ImportReport {
  const { files, edges } = importEdges(srcDir)
  const upward: ImportReport['upward'] = []
  for (const e of edges) {
    const from = folderOf(e.from)
    const to = folderOf(e.to)
    if (from === to || from === '.') continue
    const allowed = layers[from]
    if (allowed == null) {
      upward.push({ ...e, why: `src/${from}/ is not placed in the layers (scripts/lib/import-graph.ts)` })
    } else if (to === '.' || !allowed.includes(to)) {
      upward.push({ ...e, why: `${from} may not import ${to}` })
    }
  }
  return { files: files.length, edges: edges.length, circles: findCircles(files, edges), upward }
}
