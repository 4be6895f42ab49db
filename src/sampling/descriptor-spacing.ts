/**
 * Each view's descriptor spacing, the least time between two descriptors
 * one peer mints of itself (DESCRIPTOR_SPACING_MS), and the check that a
 * node's configured periods keep to it. Pure.
 *
 * The spacing is the overlay's, never the node's own period: a receiver
 * that judged over-minting by its own period charged honest members
 * configured faster than it. So periods may differ from node to node, but
 * none may be shorter than the spacing: such a member would tick faster
 * than it may mint, and its shuffles would go without its own entry.
 */
import { PEER_TYPES } from '../core/peer-type.ts'
import { ConfigError } from '../core/config-error.ts'
import { DESCRIPTOR_SPACING_MS } from './constants.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { ViewSettings } from './view-settings.ts'

/** The spacing of every view: DESCRIPTOR_SPACING_MS, or what the overlay's embedder gives every node (a test's, `tempus dev`'s). */
export function descriptorSpacingOf (given: Partial<Record<PeerType, number>> = {}): Record<PeerType, number> {
  const out = {} as Record<PeerType, number>
  for (const type of PEER_TYPES) {
    const v = given[type] ?? DESCRIPTOR_SPACING_MS[type]
    if (!Number.isInteger(v) || v < 1) {
      throw new ConfigError(`descriptorSpacingMs.${type} must be a positive whole number of milliseconds, the same on every node of the overlay (got ${String(v).slice(0, 32)})`, `descriptorSpacingMs.${type}`)
    }
    out[type] = v
  }
  return out
}

/** Refuse a configured period shorter than its view's spacing, naming the field and the least period allowed. */
export function checkPeriods (settings: Record<PeerType, ViewSettings>, spacing: Record<PeerType, number>): void {
  for (const type of PEER_TYPES) {
    const period = settings[type].periodMs
    const least = spacing[type]
    if (period < least) {
      throw new ConfigError(
        `sampling.${type}.period is ${period} ms, shorter than the overlay's descriptor spacing for the ${type} view (${least} ms): ` +
        `a member mints one descriptor of itself per spacing, and every node judges over-minting by the same spacing. Set sampling.${type}.period to at least ${least} ms ("${least / 1000}s"), or leave it out for the default`,
        `sampling.${type}.period`)
    }
  }
}
