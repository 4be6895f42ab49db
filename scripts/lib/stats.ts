/** Small statistics helpers shared by the benchmark scripts. */

export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) {
    return NaN
  }
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] ?? NaN
}

export function summarise (samples: number[]): { n: number, p50: number, p99: number, mean: number } {
  const sorted = [...samples].sort((a, b) => a - b)
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean }
}

export function round (value: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
