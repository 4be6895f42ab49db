/**
 * What the nodes of this process put on the wire, counted by protocol: the
 * data frames and bytes each Yamux stream sends (by the protocol it
 * negotiated; '' while it is being negotiated), the streams that sent
 * anything, by direction, and the socket writes of the whole process
 * (what reaches a socket's handle, one system call each; Yamux's control
 * frames, pings and window updates, are among them). It wraps
 * `YamuxStream.prototype.sendData` and `net.Socket`'s `_write`/`_writev`,
 * and counts between `start` and `stop`. `bench:idle --wire` uses it to say
 * which protocols an idle mesh spends its messages on.
 */
import net from 'node:net'
import { YamuxStream } from '@chainsafe/libp2p-yamux/stream'

export interface WireCounts {
  /** data frames sent per protocol */
  frames: Map<string, number>
  /** payload bytes sent per protocol */
  bytes: Map<string, number>
  /** streams that sent their first data frame while counting, by direction */
  streams: Map<string, number>
  socketWrites: number
}

export function countWire (): { start: () => void, stop: () => WireCounts } {
  const counts: WireCounts = { frames: new Map(), bytes: new Map(), streams: new Map(), socketWrites: 0 }
  let on = false
  const add = (map: Map<string, number>, key: string, n = 1): void => { map.set(key, (map.get(key) ?? 0) + n) }
  const seen = new WeakSet<object>()
  const sendData = YamuxStream.prototype.sendData
  YamuxStream.prototype.sendData = function (this: YamuxStream, buf) {
    if (on) {
      const protocol = this.protocol ?? ''
      add(counts.frames, protocol)
      add(counts.bytes, protocol, buf.byteLength)
      if (!seen.has(this)) {
        seen.add(this)
        add(counts.streams, this.direction) // its protocol is not known yet: the first frame is the negotiation's
      }
    }
    return sendData.call(this, buf)
  }
  // what reaches the socket's handle: `_write` for one buffer, `_writev` for what a cork gathered (one system call each)
  const proto = net.Socket.prototype as unknown as Record<'_write' | '_writev', (...x: unknown[]) => unknown>
  for (const method of ['_write', '_writev'] as const) {
    const original = proto[method]
    proto[method] = function (this: unknown, ...a: unknown[]) {
      if (on) {
        counts.socketWrites++
      }
      return original.apply(this, a)
    }
  }
  return { start: () => { on = true }, stop: () => { on = false; return counts } }
}
