/**
 * Why sampling refused a frame or an entry. The reason goes to our logs and
 * decides the charge; the remote side only sees its stream reset.
 */
import { TempusError } from '../core/tempus-error.ts'

/** A shuffle frame (request or reply alike) that breaks the protocol's shape. */
export type ShuffleRefusal =
  | 'undecodable'
  | 'oversize-frame'
  | 'too-many-entries'
  | 'duplicate-entry'
  | 'bad-entry-shape'
  | 'oversize-record'
  | 'bad-descriptor-shape'

export class MalformedShuffleError extends TempusError {
  /** the same as `reason`: the one field every project error has */
  get code (): string { return this.reason }
  override readonly name = 'MalformedShuffleError'
  readonly reason: ShuffleRefusal

  constructor (reason: ShuffleRefusal, message: string) {
    super(`${message}; the frame was refused (send at most the view's shuffle length of well-formed entries)`)
    this.reason = reason
  }
}

/**
 * A sample-exchange frame (protocols/cyclon.md, "The sample exchange") out
 * of its place in the exchange:
 * - `undecodable`, `oversize-frame`: not a SampleFrame within the bound;
 * - `too-many-ids`, `duplicate-id`, `bad-id`: an offer of more than the
 *   bound, an id twice, an empty or oversize id;
 * - `bad-wants`: more asks than the bound, not increasing, or past the offer;
 * - `out-of-step`: a field this step of the exchange does not carry;
 * - `wrong-evidence`: not one entry per id asked for, in its order (an id
 *   offered without evidence to show is a fabricated one).
 */
export type SampleRefusal = 'undecodable' | 'oversize-frame' | 'too-many-ids' | 'duplicate-id' | 'bad-id' | 'bad-wants' | 'out-of-step' | 'wrong-evidence'

export class MalformedSampleError extends TempusError {
  /** the same as `reason`: the one field every project error has */
  get code (): string { return this.reason }
  override readonly name = 'MalformedSampleError'
  readonly reason: SampleRefusal

  constructor (reason: SampleRefusal, message: string) {
    super(`${message}; the sample exchange was refused (offer ids your sampler holds and show evidence for every one asked for)`)
    this.reason = reason
  }
}

/**
 * Why an entry's signed peer record was refused:
 * - `missing`: no record, so no address (dropped, not charged: nothing was claimed);
 * - `malformed`: not an envelope holding a peer record;
 * - `forged`: the signature does not verify;
 * - `not-its-own`: signed by, or describing, another peer than the entry's;
 * - `too-many-addresses`: more addresses, or longer ones, than an entry may carry.
 */
export type RecordRefusal = 'missing' | 'malformed' | 'forged' | 'not-its-own' | 'too-many-addresses'

export class BadRecordError extends TempusError {
  /** the same as `reason`: the one field every project error has */
  get code (): string { return this.reason }
  override readonly name = 'BadRecordError'
  readonly reason: RecordRefusal

  constructor (reason: RecordRefusal, message: string) {
    super(`${message}; an entry's addresses must come in a peer record signed by the peer the entry names`)
    this.reason = reason
  }
}

export { DescriptorError } from '../core/descriptor-error.ts'
export type { DescriptorRefusal } from '../core/descriptor-error.ts'
