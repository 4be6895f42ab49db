/**
 * One JSON log stream per node: pino for tempus' own modules, and a
 * `ComponentLogger` that routes libp2p's component logs into the same pino
 * instance (at debug/trace, since libp2p logs routine network churn as
 * "errors"). Nothing secret is ever passed to a logger.
 */
import { format } from 'node:util'
import { pino } from 'pino'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import type { DestinationStream, Level, Logger as PinoLogger } from 'pino'

export type { PinoLogger }

export interface CreateLoggerOptions {
  level?: Level | 'silent'
  /** where JSON lines go; stderr by default so stdout stays for CLI output */
  destination?: DestinationStream | string
  /** bound into every line, e.g. `{ node: 'edge-1' }` */
  bindings?: Record<string, unknown>
}

/**
 * Every logger of one `createLogger` tree (the root and its descendants, as
 * weak references): a pino child copies its parent's level when it is made
 * and never looks again, so `setLogLevel` sets each one.
 */
const trees = new WeakMap<PinoLogger, Set<WeakRef<PinoLogger>>>()

export function createLogger (options: CreateLoggerOptions = {}): PinoLogger {
  const destination = typeof options.destination === 'string'
    ? pino.destination({ dest: options.destination, mkdir: true, sync: false })
    : options.destination ?? pino.destination(2)
  const members = new Set<WeakRef<PinoLogger>>()
  // a logger per connection or stream scope comes and goes: its entry goes with it
  const gone = new FinalizationRegistry<WeakRef<PinoLogger>>(ref => { members.delete(ref) })
  // onChild is inherited: grandchildren are recorded too
  const logger = pino({
    level: options.level ?? 'info',
    base: { pid: process.pid },
    onChild: child => {
      const ref = new WeakRef(child)
      members.add(ref)
      gone.register(child, ref)
      trees.set(child, members)
    }
  }, destination)
  members.add(new WeakRef(logger))
  trees.set(logger, members)
  return options.bindings == null ? logger : logger.child(options.bindings)
}

/**
 * Change the level of every logger made from the same `createLogger` call
 * as `logger` (a reload: SIGHUP to `tempus start`); loggers that were not
 * made by `createLogger` change alone.
 */
export function setLogLevel (logger: PinoLogger, level: Level | 'silent'): void {
  const members = trees.get(logger)
  if (members == null) {
    logger.level = level
    return
  }
  for (const ref of members) {
    const member = ref.deref()
    if (member == null) {
      members.delete(ref)
    } else {
      member.level = level
    }
  }
}

/** libp2p's printf extensions (%p peer, %a multiaddr, %e error, …) as plain %s. */
function render (formatter: unknown, args: unknown[]): string {
  if (typeof formatter !== 'string') {
    return format(formatter, ...args)
  }
  const text = formatter.replace(/%[pacbtmke]/g, '%s')
  return format(text, ...args.map(arg => arg instanceof Error ? `${arg.name}: ${arg.message}` : arg))
}

export function pinoComponentLogger (root: PinoLogger): ComponentLogger {
  const make = (name: string): Logger => {
    const own = name.startsWith('tempus:')
    const infoLevel: Level = own ? 'debug' : 'trace'
    const errorLevel: Level = own ? 'warn' : 'debug'
    // made at the first line it writes: libp2p makes a scope for every
    // connection, stream and negotiation on both sides, and at the levels a
    // node runs at nearly none of them ever writes (a pino child each, with
    // its bindings serialised and its entry in the tree setLogLevel walks,
    // was 1.5 % of a reconnect's CPU). Until then the root's level decides:
    // a child takes its parent's level when made, and setLogLevel sets both
    let child: PinoLogger | undefined
    const enabled = (level: Level): boolean => (child ?? root).isLevelEnabled(level)
    const write = (level: Level, formatter: unknown, args: unknown[]): void => {
      child ??= root.child({ component: name })
      child[level](render(formatter, args))
    }
    const log = ((formatter: unknown, ...args: unknown[]) => {
      if (enabled(infoLevel)) write(infoLevel, formatter, args)
    }) as Logger
    log.error = (formatter: unknown, ...args: unknown[]) => {
      if (enabled(errorLevel)) write(errorLevel, formatter, args)
    }
    log.trace = (formatter: unknown, ...args: unknown[]) => {
      if (enabled('trace')) write('trace', formatter, args)
    }
    // asked each time: the level can change while the node runs (setLogLevel)
    Object.defineProperty(log, 'enabled', { get: () => enabled(infoLevel), enumerable: true })
    log.newScope = (scope: string) => make(`${name}:${scope}`)
    return log
  }
  return { forComponent: make }
}
