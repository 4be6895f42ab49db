/**
 * What a process's live heap holds, by where it was allocated: V8's
 * sampling heap profiler, started before the nodes are and read at the end
 * of the window, reports the sampled objects still alive then with the
 * stack that allocated them. `bench:idle --heap DIR` uses it to say where
 * a node's memory goes: by package (the allocating function's), by the
 * first frame of this project's own code on the stack (which of its parts
 * asked for it, however deep in a library the allocation was), and by
 * allocating function.
 */
import type { Session } from 'node:inspector/promises'

interface HeapNode {
  callFrame: { functionName: string, url: string, lineNumber: number }
  selfSize: number
  children: HeapNode[]
}

export interface LiveHeap {
  /** sampled live bytes in all (an estimate of the heap the nodes hold) */
  totalMb: number
  byPackage: Array<{ where: string, mb: number }>
  /** by the innermost frame of this project's code (`src/…`, `scripts/…`) on the allocating stack */
  byOwnFrame: Array<{ where: string, mb: number }>
  byFunction: Array<{ where: string, mb: number }>
}

/**
 * Start sampling allocations (every `intervalBytes` on average). With
 * `collected`, the samples of objects the collector has freed since are
 * kept too: the profile then says what was allocated, not what is live
 * (`allocatedHeap`: the allocation rate a collector pays for).
 */
export async function startHeapSampling (session: Session, intervalBytes = 16_384, collected = false): Promise<void> {
  await session.post('HeapProfiler.enable')
  await session.post('HeapProfiler.startSampling', { samplingInterval: intervalBytes, ...(collected ? { includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } : {}) })
}

/** The live sampled heap now, summarised; the raw profile (for a file) beside it. */
export async function liveHeap (session: Session, top = 20): Promise<{ summary: LiveHeap, profile: unknown }> {
  // a full collection first: what is still sampled then is what is held
  await session.post('HeapProfiler.collectGarbage')
  const { profile } = await session.post('HeapProfiler.getSamplingProfile') as unknown as { profile: { head: HeapNode } }
  return { summary: summarise(profile, top), profile }
}

/** What was allocated since `startHeapSampling(…, collected = true)`, live or freed since, summarised; sampling stops. */
export async function allocatedHeap (session: Session, top = 20): Promise<{ summary: LiveHeap, profile: unknown }> {
  const { profile } = await session.post('HeapProfiler.stopSampling') as unknown as { profile: { head: HeapNode } }
  return { summary: summarise(profile, top), profile }
}

function summarise (profile: { head: HeapNode }, top: number): LiveHeap {
  const byPackage = new Map<string, number>()
  const byOwnFrame = new Map<string, number>()
  const byFunction = new Map<string, number>()
  let total = 0
  const add = (m: Map<string, number>, k: string, n: number): void => { m.set(k, (m.get(k) ?? 0) + n) }
  const walk = (node: HeapNode, own: string | undefined): void => {
    const f = node.callFrame
    const where = shortUrl(f.url)
    // this project's files only: a package's own dist/src/ is not ours
    const isOwn = /\/dist\/(src|scripts)\//.test(f.url) && !f.url.includes('/node_modules/')
    const fn = `${f.functionName === '' ? '(anonymous)' : f.functionName} ${where}${where === '' ? '' : `:${f.lineNumber + 1}`}`
    const ownHere = isOwn ? fn : own
    if (node.selfSize > 0) {
      total += node.selfSize
      add(byPackage, packageOf(f.url, f.functionName), node.selfSize)
      add(byOwnFrame, ownHere ?? '(no frame of ours)', node.selfSize)
      add(byFunction, fn, node.selfSize)
    }
    for (const child of node.children) walk(child, ownHere)
  }
  walk(profile.head, undefined)
  const list = (m: Map<string, number>): Array<{ where: string, mb: number }> =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([where, n]) => ({ where, mb: Math.round(n / 2 ** 20 * 100) / 100 }))
  return { totalMb: Math.round(total / 2 ** 20 * 10) / 10, byPackage: list(byPackage), byOwnFrame: list(byOwnFrame), byFunction: list(byFunction) }
}

function shortUrl (url: string): string {
  return url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, '').replace(/^file:\/\//, '')
}

function packageOf (url: string, functionName: string): string {
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (dep != null) return dep[1] as string
  const own = /\/dist\/((?:src|scripts)\/[^/]+)/.exec(url)
  if (own != null) return `tempus ${own[1] as string}`
  if (url.startsWith('node:')) return 'node:*'
  return functionName === '' ? '(native)' : `(${functionName})`
}
