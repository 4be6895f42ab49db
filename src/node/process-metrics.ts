/**
 * The process's own figures (CPU, memory, event-loop lag, GC, handles:
 * prom-client's default metrics), collected once per process and shown on
 * every node's registry.
 *
 * Why: they describe the process, not a node, so every node in one process
 * would report the same values; but collecting them per node ran one
 * event-loop-delay monitor (a native timer every 10 ms) and one GC observer
 * for each node: 50 nodes in one `tempus dev` process woke the loop 5,000
 * times a second for the same histogram. One collection, registered on each
 * node's registry, keeps `/metrics` as it was. Nothing node-specific is
 * shared: these metrics read only process-wide state.
 */
import { collectDefaultMetrics, Registry } from 'prom-client'

let shared: Registry | undefined

/** The process-wide registry of prom-client's default metrics, made on first use. */
export function processMetricsRegistry (): Registry {
  if (shared == null) {
    shared = new Registry()
    collectDefaultMetrics({ register: shared })
  }
  return shared
}

/** Show the process's figures on `registry` too (the same metric objects: collected once). */
export function addProcessMetrics (registry: Registry): void {
  for (const metric of processMetricsRegistry().getMetricsAsArray()) {
    registry.registerMetric(metric as any)
  }
}
