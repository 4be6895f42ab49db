/**
 * libp2p's component logs routed into pino (src/logging/logger.ts): a scope
 * writes its lines at the level of the moment, including a scope made
 * before `setLogLevel` changed it, and a scope that writes nothing makes no
 * pino child (libp2p makes one scope per connection, stream and
 * negotiation on each side; at a node's levels nearly none writes).
 */
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import { createLogger, pinoComponentLogger, setLogLevel } from '../../src/logging/logger.ts'
import type { Level } from 'pino'

/** a logger writing into an array, and how many pino children were made under it */
function capture (level: Level): { lines: Array<Record<string, unknown>>, children: () => number, root: ReturnType<typeof createLogger> } {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line !== '') lines.push(JSON.parse(line))
      }
      done()
    }
  })
  const root = createLogger({ level, destination, bindings: { node: 'n1' } })
  let made = 0
  const child = root.child.bind(root)
  root.child = ((...args: Parameters<typeof root.child>) => { made++; return child(...args) }) as typeof root.child
  return { lines, children: () => made, root }
}

describe('component logger', () => {
  it('makes no pino child for scopes that write nothing', () => {
    const { lines, children, root } = capture('info')
    const components = pinoComponentLogger(root)
    for (let i = 0; i < 100; i++) {
      const scope = components.forComponent('libp2p:yamux').newScope(`stream-${i}`).newScope('mss:select')
      scope('negotiated %s', '/tempus/rpc/1.0.0')
      scope.trace('write %s', 'x')
      scope.error('closed %e', new Error('reset'))
      assert.equal(scope.enabled, false)
    }
    assert.equal(children(), 0)
    assert.equal(lines.length, 0)
  })

  it('writes a scope made before the level changed at the new level, and stops when it changes back', () => {
    const { lines, root } = capture('info')
    const components = pinoComponentLogger(root)
    const libp2pScope = components.forComponent('libp2p:connection').newScope('outbound')
    const ownScope = components.forComponent('tempus:rpc')
    ownScope.error('a refusal %s', 'x')
    assert.equal(lines.length, 1)
    assert.equal(lines[0]?.level, 40) // warn: tempus's own errors
    assert.equal(lines[0]?.component, 'tempus:rpc')
    assert.equal(lines[0]?.node, 'n1')

    libp2pScope('opened %s', 'one')
    assert.equal(lines.length, 1)

    setLogLevel(root, 'trace')
    assert.equal(libp2pScope.enabled, true)
    libp2pScope('opened %s', 'two')
    libp2pScope.error('failed %e', new Error('boom'))
    assert.deepEqual(lines.slice(1).map(l => [l.level, l.component, l.msg]), [
      [10, 'libp2p:connection:outbound', 'opened two'],
      [20, 'libp2p:connection:outbound', 'failed Error: boom']
    ])

    setLogLevel(root, 'info')
    libp2pScope('opened %s', 'three')
    ownScope('a debug line')
    assert.equal(lines.length, 3)
    assert.equal(libp2pScope.enabled, false)
  })
})
