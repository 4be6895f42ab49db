import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { ConfigError } from '../../src/node/errors.ts'
import { loadConfigFile, parseConfig } from '../../src/node/config.ts'
import { parseDuration } from '../../src/core/duration.ts'
import { CONNECTION_DEFAULTS } from '../../src/node/constants.ts'

function fieldOf (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`)
    return err.field
  }
  assert.fail('expected a ConfigError')
}

describe('config schema', () => {
  it('fills every default from the type alone', () => {
    const config = parseConfig({ type: 'edge' })
    assert.equal(config.type, 'edge')
    assert.deepEqual(config.listen, ['/ip4/0.0.0.0/tcp/0'])
    assert.equal(config.mdns.enabled, true)
    assert.deepEqual(config.api.listen, { host: '127.0.0.1', port: 0 })
    assert.equal(config.connections.inboundConnectionThreshold, CONNECTION_DEFAULTS.inboundConnectionThreshold)
    assert.equal(config.liveness.pingInterval, 10_000)
  })

  it('observers pull a view at 4 × its period unless told otherwise; a bad duration names its field', () => {
    const d = parseConfig({ type: 'edge' })
    assert.deepEqual([d.sampling.edge.period, d.sampling.edge.observerPeriod], [16_000, 64_000])
    assert.deepEqual([d.sampling.sentinel.period, d.sampling.sentinel.observerPeriod], [32_000, 128_000])
    const c = parseConfig({ type: 'edge', sampling: { bridge: { period: '500ms' }, sentinel: { period: '2s', observerPeriod: '10s' } } })
    assert.equal(c.sampling.bridge.observerPeriod, 2_000, 'follows a period that was set')
    assert.equal(c.sampling.sentinel.observerPeriod, 10_000)
    assert.deepEqual(parseConfig(c), c)
    assert.equal(fieldOf(() => parseConfig({ type: 'edge', sampling: { edge: { observerPeriod: 'soon' } } })), 'sampling.edge.observerPeriod')
  })

  it('validates its own output again unchanged', () => {
    const config = parseConfig({ type: 'bridge', api: { listen: '[::1]:7070' }, liveness: { pingInterval: '3s' } })
    assert.deepEqual(parseConfig(config), config)
  })

  it('takes exempt address blocks as CIDRs and hands libp2p multiaddrs', () => {
    const c = parseConfig({ type: 'edge', connections: { allow: ['10.0.0.0/8', '127.0.0.1', 'fd00::/8'] } })
    assert.deepEqual(c.connections.allow, ['/ip4/10.0.0.0/ipcidr/8', '/ip4/127.0.0.1/ipcidr/32', '/ip6/fd00::/ipcidr/8'])
    for (const bad of ['10.0.0.0/40', 'nope', '10.0.0/8', '']) {
      assert.throws(() => parseConfig({ type: 'edge', connections: { allow: [bad] } }), (err: any) => err instanceof ConfigError && err.field === 'connections.allow.0', bad)
    }
  })

  it('accepts durations as strings or milliseconds', () => {
    const config = parseConfig({ type: 'sentinel', liveness: { pingInterval: '3s', pingTimeout: 750 }, mdns: { interval: '1m' } })
    assert.equal(config.liveness.pingInterval, 3_000)
    assert.equal(config.liveness.pingTimeout, 750)
    assert.equal(config.mdns.interval, 60_000)
  })

  it('names the field of every kind of mistake', () => {
    assert.equal(fieldOf(() => parseConfig({})), 'type')
    assert.equal(fieldOf(() => parseConfig({ type: 'router' })), 'type')
    assert.equal(fieldOf(() => parseConfig({ type: 'edge', connections: { maxConnections: 'many' } })), 'connections.maxConnections')
    assert.equal(fieldOf(() => parseConfig({ type: 'edge', connections: { maxConnections: 0 } })), 'connections.maxConnections')
    assert.equal(fieldOf(() => parseConfig({ type: 'edge', liveness: { pingInterval: '10 parsecs' } })), 'liveness.pingInterval')
    assert.equal(fieldOf(() => parseConfig({ type: 'edge', listen: ['not/a/multiaddr'] })), 'listen.0')
    assert.equal(fieldOf(() => parseConfig({ type: 'edge', bootstrap: ['/ip4/127.0.0.1/tcp/4001'] })), 'bootstrap.0')
    assert.equal(fieldOf(() => parseConfig({ type: 'edge', mdsn: { enabled: false } })), '')
  })

  it('refuses an admin API that is not on loopback', () => {
    assert.equal(fieldOf(() => parseConfig({ type: 'edge', api: { listen: '0.0.0.0:7070' } })), 'api.listen')
    assert.equal(fieldOf(() => parseConfig({ type: 'edge', api: { listen: '192.168.1.4:7070' } })), 'api.listen')
    assert.equal(fieldOf(() => parseConfig({ type: 'edge', api: { listen: '127.0.0.1:99999' } })), 'api.listen')
    assert.deepEqual(parseConfig({ type: 'edge', api: { listen: '[::1]:7070' } }).api.listen, { host: '::1', port: 7070 })
  })

  it('reports an unknown field by name in the message', () => {
    assert.throws(() => parseConfig({ type: 'edge', mdsn: {} }), /mdsn/)
  })

  it('loads YAML and JSON files, and rejects unreadable ones clearly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tempus-config-'))
    await writeFile(join(dir, 'a.yaml'), 'type: bridge\nlisten:\n  - /ip4/127.0.0.1/tcp/0\n')
    await writeFile(join(dir, 'b.json'), JSON.stringify({ type: 'sentinel', mdns: { enabled: false } }))
    await writeFile(join(dir, 'c.yaml'), 'type: [unclosed\n')
    await writeFile(join(dir, 'd.yaml'), '- just\n- a list\n')
    assert.equal((await loadConfigFile(join(dir, 'a.yaml'))).type, 'bridge')
    assert.equal((await loadConfigFile(join(dir, 'b.json'))).mdns.enabled, false)
    await assert.rejects(loadConfigFile(join(dir, 'c.yaml')), (err: Error) => err instanceof ConfigError && /not valid YAML/.test(err.message))
    await assert.rejects(loadConfigFile(join(dir, 'd.yaml')), (err: Error) => err instanceof ConfigError && /mapping/.test(err.message))
    await assert.rejects(loadConfigFile(join(dir, 'missing.yaml')), (err: Error) => err instanceof ConfigError && /ENOENT/.test(err.message))
  })
})

describe('parseDuration', () => {
  it('parses units', () => {
    assert.equal(parseDuration('500ms', 'x'), 500)
    assert.equal(parseDuration('20s', 'x'), 20_000)
    assert.equal(parseDuration('1.5m', 'x'), 90_000)
    assert.equal(parseDuration('2h', 'x'), 7_200_000)
    assert.equal(parseDuration(42, 'x'), 42)
  })

  it('rejects nonsense with the field name', () => {
    for (const bad of ['', '20', 's', '-1s', '1 s', NaN, -5, {}, null]) {
      assert.throws(() => parseDuration(bad, 'the.field'), (err: Error) => err instanceof ConfigError && err.message.startsWith('the.field:'))
    }
  })
})
