/**
 * Timer callbacks counted by where they were set: the first stack frame
 * outside Node's internals, timer helpers and the file doing the counting
 * (`self`). Wraps the global setTimeout, setInterval and setImmediate; it
 * counts between `start` and `stop`. `bench:idle` and the node-process
 * census (process-census.ts) use it.
 */
export function countTimers (self: string): { start: () => void, stop: () => Map<string, number> } {
  const counts = new Map<string, number>()
  let on = false
  const origin = (): string => {
    const lines = (new Error().stack ?? '').split('\n').slice(3)
    const frame = lines.find(l => !l.includes('node:internal') && !l.includes(self) && !l.includes('timer-census') && !l.includes('/@libp2p/utils/') && !l.includes('/p-') && !l.includes('/delay/') && !l.includes('/retimer/')) ?? lines[0] ?? '?'
    return frame.trim().replace(/^at /, '').replace(/\(?file:\/\/.*node_modules\//, '').replace(/\(?file:\/\/.*\/dist\//, '').replace(/:\d+\)?$/, '')
  }
  const wrap = <F extends (...a: any[]) => any>(original: F): F => (function (this: unknown, fn: unknown, ...rest: unknown[]) {
    if (typeof fn !== 'function') {
      return original.call(this, fn, ...rest)
    }
    const where = origin()
    return original.call(this, function (this: unknown, ...a: unknown[]) {
      if (on) {
        counts.set(where, (counts.get(where) ?? 0) + 1)
      }
      return (fn as (...x: unknown[]) => unknown).apply(this, a)
    }, ...rest)
  }) as unknown as F
  globalThis.setTimeout = wrap(globalThis.setTimeout)
  globalThis.setInterval = wrap(globalThis.setInterval)
  globalThis.setImmediate = wrap(globalThis.setImmediate)
  return { start: () => { on = true }, stop: () => { on = false; return counts } }
}
