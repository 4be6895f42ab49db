/**
 * Detecting that the host's addresses changed: pure set arithmetic over
 * snapshots of interface addresses.
 */
import type { NetworkInterfaceInfo } from 'node:os'

export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>

/** Every non-internal address of the host, as `iface/address` strings. */
export function addressSnapshot (table: InterfaceTable): Set<string> {
  const out = new Set<string>()
  for (const [name, infos] of Object.entries(table)) {
    for (const info of infos ?? []) {
      if (!info.internal) {
        out.add(`${name}/${info.address}`)
      }
    }
  }
  return out
}

export interface AddressChange {
  added: string[]
  removed: string[]
}

export function diffSnapshots (before: Set<string>, after: Set<string>): AddressChange {
  return {
    added: [...after].filter(a => !before.has(a)).sort(),
    removed: [...before].filter(a => !after.has(a)).sort()
  }
}

export function isChange (change: AddressChange): boolean {
  return change.added.length > 0 || change.removed.length > 0
}
