/**
 * V8's young generation for a `tempus start` process. Node 24 lets the new
 * space grow to 64 MB (two 32 MB semi-spaces); loading the node's ~1,250
 * modules grows it to the top, and its pages stay resident for the life of
 * the process: 25–30 MB of RSS per node process that a node idling at a few
 * kilobytes of allocation a second never needs again.
 *
 * `--max-semi-space-size` is read once, when the heap is set up, so the
 * launcher (bin.ts, already running) cannot lower it; V8 reads the growth
 * factor each time it would grow the new space, so a factor of 1 keeps it at
 * its initial size (two 1 MB semi-spaces). The price is more scavenges, each
 * over a small live set: measured with scripts/bench-process.ts (README
 * "Benchmarks"). An operator's own young-generation flag, on the command
 * line or in NODE_OPTIONS, wins.
 */
export const YOUNG_GENERATION_FLAG = '--semi-space-growth-factor=1'

/** The V8 flag to set for this command line, or undefined to leave V8's default. */
export function youngGenerationFlag (argv: readonly string[], execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  // the long-lived node process only: `tempus start`, after any global flags
  const command = argv.find(a => !a.startsWith('-'))
  if (command !== 'start') {
    return undefined
  }
  if ([...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some(a => /^--(max|min)[-_]semi[-_]space[-_]size\b|^--semi[-_]space[-_]growth[-_]factor\b/.test(a))) {
    return undefined
  }
  return YOUNG_GENERATION_FLAG
}
