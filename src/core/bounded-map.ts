/**
 * A Map used as a bounded memory: setting a key makes it the most recent,
 * and the least recent goes once there are more than `max`. The caches of
 * keys, PeerIds and peer records share it.
 */
export function setBounded<K, V> (map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key)
  map.set(key, value)
  if (map.size > max) {
    const oldest = map.keys().next()
    if (oldest.done !== true) {
      map.delete(oldest.value)
    }
  }
}
