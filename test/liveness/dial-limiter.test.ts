import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { DialBudgetError, DialRateLimiter, dialKeys } from '../../src/liveness/dial-limiter.ts'
import { KeyedTokenBuckets } from '../../src/liveness/token-bucket.ts'

describe('dial budget per address and host', () => {
  it('a token bucket allows its burst, then its rate, on the injected clock', () => {
    let now = 1_000_000
    const buckets = new KeyedTokenBuckets({ burst: 2, perSecond: 0.5 }, () => now, 10)
    const take = (): boolean => { if (!buckets.has('k')) return false; buckets.spend('k'); return true }
    assert.deepEqual([take(), take(), take()], [true, true, false])
    now += 1_999
    assert.equal(take(), false, 'not yet a whole token')
    now += 1
    assert.deepEqual([take(), take()], [true, false])
    now += 60_000
    assert.deepEqual([take(), take(), take()], [true, true, false], 'refills up to the burst, no further')
  })

  it('keys are bounded: full buckets go first, then the least recently spent', () => {
    let now = 0
    const buckets = new KeyedTokenBuckets({ burst: 1, perSecond: 1 }, () => now, 3)
    for (const k of ['a', 'b', 'c', 'd']) {
      buckets.spend(k)
    }
    assert.equal(buckets.size, 3)
    assert.equal(buckets.has('a'), true, 'the least recently spent was forgotten')
    assert.equal(buckets.has('d'), false)
    now += 1_000
    buckets.spend('e')
    assert.equal(buckets.size, 1, 'refilled buckets are the same as none')
  })

  it('one address: 3 dials at once, then one per 5 s, whoever asks; other ports and hosts unaffected', () => {
    let now = 0
    const limiter = new DialRateLimiter({ now: () => now })
    const victim = multiaddr('/ip4/192.0.2.7/tcp/80')
    const same = multiaddr('/ip4/192.0.2.7/tcp/80/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf')
    assert.deepEqual([limiter.take(victim), limiter.take(same), limiter.take(victim), limiter.take(same)], [true, true, true, false])
    assert.equal(limiter.take(multiaddr('/ip4/192.0.2.7/tcp/81')), true, 'another port of the host')
    assert.equal(limiter.take(multiaddr('/ip4/192.0.2.8/tcp/80')), true, 'another host')
    now += 4_999
    assert.equal(limiter.take(victim), false)
    now += 1
    assert.deepEqual([limiter.take(victim), limiter.take(victim)], [true, false])
  })

  it('one host: many ports share 20 dials at once and 5 a second', () => {
    let now = 0
    const limiter = new DialRateLimiter({ now: () => now })
    const ports = Array.from({ length: 40 }, (_, i) => multiaddr(`/ip4/192.0.2.9/tcp/${1000 + i}`))
    assert.equal(limiter.takeEach(ports).length, 20)
    now += 1_000
    assert.equal(limiter.takeEach(ports.slice(20)).length, 5)
    assert.equal(limiter.take(multiaddr('/ip6/2001:db8::1/tcp/1')), true, 'other hosts keep their own budget')
  })

  it('dial targets end in the peer id and run out with the budget', () => {
    const limiter = new DialRateLimiter({ now: () => 0 })
    const peer = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'
    const addr = multiaddr('/ip4/192.0.2.20/tcp/4001')
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(limiter.dialTargets(peer, [addr]).map(String), [`/ip4/192.0.2.20/tcp/4001/p2p/${peer}`])
    }
    assert.throws(() => limiter.dialTargets(peer, [addr]), (e: Error) => e instanceof DialBudgetError)
  })

  it('a refusal says when the budget allows the next dial: the soonest of the peer\'s addresses, its host\'s budget counted', () => {
    let now = 0
    const limiter = new DialRateLimiter({ now: () => now })
    const peer = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'
    const a = multiaddr('/ip4/192.0.2.20/tcp/4001')
    const b = multiaddr('/ip4/192.0.2.21/tcp/4001')
    for (let i = 0; i < 3; i++) limiter.dialTargets(peer, [a])
    now = 1_000
    for (let i = 0; i < 3; i++) limiter.dialTargets(peer, [b])
    // a has had 1 s of its 5 s back, b none
    assert.throws(() => limiter.dialTargets(peer, [a, b]), (e: Error) => e instanceof DialBudgetError && e.retryInMs === 4_000)
    now = 5_000
    assert.equal(limiter.waitMs(a), 0)
    assert.deepEqual(limiter.dialTargets(peer, [a, b]).map(String), [`/ip4/192.0.2.20/tcp/4001/p2p/${peer}`])
    // a host out of budget holds back an address that has some
    const host = new DialRateLimiter({ now: () => 0, perHost: { burst: 1, perSecond: 0.5 } })
    host.take(multiaddr('/ip4/192.0.2.30/tcp/1'))
    assert.equal(host.waitMs(multiaddr('/ip4/192.0.2.30/tcp/2')), 2_000)
  })

  it('addresses name their host and port; a host is one whatever its case', () => {
    assert.deepEqual(dialKeys(multiaddr('/ip4/10.0.0.1/tcp/4001/ws')), { host: 'ip4/10.0.0.1', address: 'ip4/10.0.0.1/tcp/4001' })
    assert.deepEqual(dialKeys(multiaddr('/dns4/Example.COM/tcp/443')), { host: 'dns4/example.com', address: 'dns4/example.com/tcp/443' })
    assert.equal(dialKeys(multiaddr('/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf')), undefined)
  })
})
