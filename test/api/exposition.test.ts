/**
 * The rewrite that makes libp2p's and prom-client's families lint-clean
 * (src/api/exposition.ts), on text shaped like theirs, checked by promtool
 * itself when it is installed.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { lintClean } from '../../src/api/exposition.ts'

const LIBP2P_LIKE = `# HELP libp2p_protocol_streams_total Protocol streams
# TYPE libp2p_protocol_streams_total gauge
libp2p_protocol_streams_total{protocol="inbound /ipfs/id/1.0.0"} 2
# HELP nodejs_active_handles Number of active libuv handles grouped by handle type.
# TYPE nodejs_active_handles gauge
nodejs_active_handles{type="Socket"} 3
nodejs_active_handles{type="Timeout"} 1
# HELP nodejs_active_handles_total Total number of active handles.
# TYPE nodejs_active_handles_total gauge
nodejs_active_handles_total 4
# HELP tempus_kad_routing_table_kad_bucket_total kad buckets
# TYPE tempus_kad_routing_table_kad_bucket_total gauge
tempus_kad_routing_table_kad_bucket_total 7
# HELP libp2p_connection_monitor_ping_time_milliseconds ping times
# TYPE libp2p_connection_monitor_ping_time_milliseconds gauge
libp2p_connection_monitor_ping_time_milliseconds{key="average"} 250
# HELP libp2p_dial_time_milliseconds dial times
# TYPE libp2p_dial_time_milliseconds histogram
libp2p_dial_time_milliseconds_bucket{le="100"} 1
libp2p_dial_time_milliseconds_bucket{le="+Inf"} 2
libp2p_dial_time_milliseconds_sum 1500
libp2p_dial_time_milliseconds_count 2
# HELP libp2p_dials dials made
# TYPE libp2p_dials counter
libp2p_dials 5
# HELP tempus_rpc_calls_total calls
# TYPE tempus_rpc_calls_total counter
tempus_rpc_calls_total{outcome="ok"} 1
`

describe('lintClean: libp2p\'s families, lint-clean', () => {
  const out = lintClean(LIBP2P_LIKE)

  it('strips _total from a gauge', () => {
    assert.match(out, /^# TYPE libp2p_protocol_streams gauge\nlibp2p_protocol_streams\{protocol="inbound \/ipfs\/id\/1\.0\.0"\} 2$/m)
  })

  it('drops a gauge that is the sum of a family of the stripped name', () => {
    assert.doesNotMatch(out, /nodejs_active_handles_total/)
    assert.match(out, /^nodejs_active_handles\{type="Socket"\} 3$/m)
  })

  it('keeps a stripped name off the histogram suffixes', () => {
    assert.match(out, /^# TYPE tempus_kad_routing_table_kad_buckets gauge\ntempus_kad_routing_table_kad_buckets 7$/m)
  })

  it('turns milliseconds into seconds: values, bucket bounds and sums; counts stay', () => {
    assert.match(out, /^libp2p_connection_monitor_ping_time_seconds\{key="average"\} 0\.25$/m)
    assert.match(out, /^libp2p_dial_time_seconds_bucket\{le="0\.1"\} 1$/m)
    assert.match(out, /^libp2p_dial_time_seconds_bucket\{le="\+Inf"\} 2$/m)
    assert.match(out, /^libp2p_dial_time_seconds_sum 1\.5$/m)
    assert.match(out, /^libp2p_dial_time_seconds_count 2$/m)
    assert.doesNotMatch(out, /milliseconds/)
  })

  it('gives a counter its _total and leaves clean families as they were', () => {
    assert.match(out, /^# TYPE libp2p_dials_total counter\nlibp2p_dials_total 5$/m)
    assert.match(out, /^# HELP tempus_rpc_calls_total calls\n# TYPE tempus_rpc_calls_total counter\ntempus_rpc_calls_total\{outcome="ok"\} 1$/m)
  })

  it('passes promtool check metrics, where the input does not', { skip: spawnSync('promtool', ['--version']).error != null ? 'promtool is not installed' : false }, () => {
    const before = spawnSync('promtool', ['check', 'metrics'], { input: LIBP2P_LIKE, encoding: 'utf8' })
    assert.notEqual(before.status, 0)
    const after = spawnSync('promtool', ['check', 'metrics'], { input: out, encoding: 'utf8' })
    assert.equal(after.status, 0, after.stdout + after.stderr)
  })
})
