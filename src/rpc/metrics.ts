/**
 * RPC as Prometheus figures (`tempus_rpc_*`) on the node's one registry:
 * calls this node made by outcome and how long they took, and calls it
 * served by outcome. Outcomes are closed sets (an `RpcErrorCode`, or what
 * the server did); a method name is never a label (the caller chooses it).
 */
import { Counter, Histogram } from 'prom-client'
import type { RpcErrorCode } from './errors.ts'
import type { Registry } from 'prom-client'

/** what the server did with a call: answered, the handler threw, refused (charged) or dropped (not charged) */
export type ServedOutcome = 'ok' | 'handler-failed' | 'refused' | 'dropped'

export class RpcMetrics {
  private readonly calls: Counter<'outcome'>
  private readonly duration: Histogram<'outcome'>
  private readonly served: Counter<'outcome'>
  private readonly byMethod: Counter<'method' | 'outcome'>

  constructor (registry: Registry) {
    const registers = [registry]
    this.calls = new Counter({
      name: 'tempus_rpc_calls_total',
      help: 'calls and sends this node made, by outcome: ok, or the RpcError code (unavailable, remote-failure, timeout, aborted, bad-arguments, bad-method)',
      labelNames: ['outcome'],
      registers
    })
    this.duration = new Histogram({
      name: 'tempus_rpc_call_duration_seconds',
      help: 'time from a call to its answer or failure, by outcome (as tempus_rpc_calls_total)',
      labelNames: ['outcome'],
      // a call on a live connection answers in about a millisecond; the default deadline is 10 s
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers
    })
    this.served = new Counter({
      name: 'tempus_rpc_served_total',
      help: 'calls other peers made to this node, by outcome: ok, handler-failed, refused (not granted, malformed, over a limit: the caller is charged), dropped (not the caller\'s fault)',
      labelNames: ['outcome'],
      registers
    })
    this.byMethod = new Counter({
      name: 'tempus_rpc_served_by_method_total',
      help: 'calls other peers made to this node, by method and outcome (as tempus_rpc_served_total); method is an exposed method\'s name, "other" for any name this node does not expose, "unknown" before the request was read (so a caller cannot add labels)',
      labelNames: ['method', 'outcome'],
      registers
    })
  }

  called (outcome: 'ok' | RpcErrorCode, seconds: number): void {
    this.calls.inc({ outcome })
    this.duration.observe({ outcome }, seconds)
  }

  /** `method`: already bounded by the caller (an exposed name, `other` or `unknown`) */
  servedCall (outcome: ServedOutcome, method = 'unknown'): void {
    this.served.inc({ outcome })
    this.byMethod.inc({ method, outcome })
  }
}
