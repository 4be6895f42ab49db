/**
 * The four frames of a sample exchange (protocols/cyclon.md, "The sample
 * exchange") and the shape each step must have. Pure: no streams; the wire
 * side (sample-wire.ts) reads a frame through `decodeSampleFrame` and the
 * check of its step, and every refusal is a `MalformedSampleError`, charged
 * to the sender as a malformed frame.
 *
 *   1. I → R  ids
 *   2. R → I  ids, wants        (wants: indices into frame 1's ids)
 *   3. I → R  wants, evidence   (wants: into frame 2's ids; evidence: for frame 2's wants)
 *   4. R → I  evidence          (for frame 3's wants)
 */
import { MalformedSampleError } from './errors.ts'
import { fromWire } from './peer-entry.ts'
import { SAMPLE_MAX_ID_CHARS, SAMPLE_MAX_IDS, SAMPLE_MAX_WANTS } from './constants.ts'
import { SampleFrame } from './pb/cyclon.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { Uint8ArrayList } from 'uint8arraylist'

/** What one step of the exchange carries, each field already checked. */
export interface SampleStep {
  ids: string[]
  wants: number[]
  evidence: PeerEntry[]
}

/** Decode one frame within the bounds every step shares (ids, asks and evidence counts). */
export function decodeSampleFrame (frame: Uint8Array | Uint8ArrayList): SampleFrame {
  try {
    return SampleFrame.decode(frame, { limits: { ids: SAMPLE_MAX_IDS, wants: SAMPLE_MAX_WANTS, evidence: SAMPLE_MAX_WANTS } })
  } catch (err: any) {
    if (err?.name === 'MaxLengthError') {
      throw new MalformedSampleError('too-many-ids', `a frame offers more than ${SAMPLE_MAX_IDS} ids or carries more than ${SAMPLE_MAX_WANTS} asks or entries`)
    }
    throw new MalformedSampleError('undecodable', 'the frame does not decode as a SampleFrame')
  }
}

/**
 * Check a decoded frame as step `step` of the exchange. `offered`: the ids
 * this side offered (what the other side's `wants` index into); `asked`:
 * the ids this side asked evidence for (what `evidence` must answer, in
 * order).
 */
export function checkSampleStep (frame: SampleFrame, step: 1 | 2 | 3 | 4, offered: readonly string[], asked: readonly string[]): SampleStep {
  const carries = { ids: step <= 2, wants: step === 2 || step === 3, evidence: step >= 3 }
  if ((!carries.ids && frame.ids.length > 0) || (!carries.wants && frame.wants.length > 0) || (!carries.evidence && frame.evidence.length > 0)) {
    throw new MalformedSampleError('out-of-step', `step ${step} of a sample exchange carries a field it has no place for`)
  }
  checkIds(frame.ids)
  checkWants(frame.wants, offered.length)
  if (carries.evidence && frame.evidence.length !== asked.length) {
    throw new MalformedSampleError('wrong-evidence', `${frame.evidence.length} entries of evidence for ${asked.length} ids asked`)
  }
  let evidence: PeerEntry[]
  try {
    evidence = fromWire(frame.evidence, SAMPLE_MAX_WANTS)
  } catch {
    throw new MalformedSampleError('wrong-evidence', 'an entry of evidence is out of shape')
  }
  evidence.forEach((e, i) => {
    if (e.id !== asked[i]) {
      throw new MalformedSampleError('wrong-evidence', 'evidence for an id that was not asked for, or out of order')
    }
  })
  return { ids: frame.ids, wants: frame.wants, evidence }
}

function checkIds (ids: readonly string[]): void {
  const seen = new Set<string>()
  for (const id of ids) {
    if (id.length === 0 || id.length > SAMPLE_MAX_ID_CHARS) {
      throw new MalformedSampleError('bad-id', 'an offered id is empty or too long')
    }
    if (seen.has(id)) {
      throw new MalformedSampleError('duplicate-id', 'an offer names one id twice')
    }
    seen.add(id)
  }
}

function checkWants (wants: readonly number[], offered: number): void {
  let last = -1
  for (const w of wants) {
    if (w <= last || w >= offered) {
      throw new MalformedSampleError('bad-wants', 'asks must be increasing indices into the ids offered')
    }
    last = w
  }
}
