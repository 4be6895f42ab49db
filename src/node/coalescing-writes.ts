/**
 * One socket write per turn of the event loop, not one per buffer.
 *
 * libp2p's TCP connection writes each buffer of what it is handed with its
 * own `socket.write`, and Noise hands it a frame as several buffers (the
 * length prefix, the ciphertext), so every Yamux frame cost two or three
 * system calls: an idle 50-node mesh made 59 socket writes a second per
 * node for about 20 frames (`bench:idle --wire`). Wrapped around the
 * connection encrypter, this corks the TCP socket at the first write of a
 * turn and uncorks it on the next tick, so what a turn writes leaves in
 * one `writev` (Node's documented cork/uncork pattern; order and
 * back-pressure are the socket's own, and `end()` flushes what is corked).
 *
 * It reaches the socket through the connection @libp2p/tcp hands the
 * encrypter (its `socket` field and `sendData` method); a connection
 * without them (another transport, or a libp2p that changed them) is left
 * as it is. `test/node/coalescing-writes.test.ts` fails if that happens.
 */
import { Socket } from 'node:net'
import type { ConnectionEncrypter, MessageStream } from '@libp2p/interface'

type EncrypterFactory = (components: any) => ConnectionEncrypter

/** `inner` (Noise), with the writes of each connection it secures coalesced per event-loop turn. */
export function coalescingWrites (inner: EncrypterFactory): EncrypterFactory {
  return (components) => {
    const encrypter = inner(components)
    return {
      protocol: encrypter.protocol,
      async secureOutbound (connection, options) {
        return await encrypter.secureOutbound(coalesce(connection), options)
      },
      async secureInbound (connection, options) {
        return await encrypter.secureInbound(coalesce(connection), options)
      }
    }
  }
}

/** connections already wrapped (an encrypter handed the same one twice wraps it once) */
const coalesced = new WeakSet<object>()

function coalesce (connection: MessageStream): MessageStream {
  const tcp = connection as MessageStream & { socket?: unknown, sendData?: (data: unknown) => unknown }
  const socket = tcp.socket
  const sendData = tcp.sendData
  if (!(socket instanceof Socket) || typeof sendData !== 'function' || coalesced.has(connection)) {
    return connection
  }
  tcp.sendData = function (this: unknown, data: unknown) {
    if (socket.writableCorked === 0 && !socket.destroyed) {
      socket.cork()
      process.nextTick(() => { socket.uncork() })
    }
    return sendData.call(this, data)
  }
  coalesced.add(connection)
  return connection
}
