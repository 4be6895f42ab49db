/** Why a Cyclon descriptor (descriptor.ts) or a clone proof was refused. */
import { TempusError } from './tempus-error.ts'

/**
 * Why an entry's descriptor (protocols/cyclon.md, "Signed descriptors") was
 * refused:
 * - `missing`: no descriptor (an honest node never sends an entry without one);
 * - `forged`: the subject's signature on it does not verify;
 * - `from-the-future`: minted later than now by more than a clock may be off;
 * - `stale`: minted longer ago than a descriptor lives (dropped; charged
 *   only past what a clock could excuse);
 * - `too-many-hops`: a longer chain of owners than the bound;
 * - `bad-hop`: an owner's signature on a hop does not verify;
 * - `not-ours`: its last hop does not hand it to this node from its sender;
 * - `replayed`: a chain this node already saw, or a part of one: its owner
 *   handed it on before;
 * - `over-minted`: its subject minted another descriptor too close to it;
 * - `cloned`: another copy of it went elsewhere from the same owner (a proof).
 */
export type DescriptorRefusal = 'missing' | 'forged' | 'from-the-future' | 'stale' | 'too-many-hops' | 'bad-hop' | 'not-ours' | 'replayed' | 'over-minted' | 'cloned'

export class DescriptorError extends TempusError {
  /** the same as `reason`: the one field every project error has */
  get code (): string { return this.reason }
  override readonly name = 'DescriptorError'
  readonly reason: DescriptorRefusal

  constructor (reason: DescriptorRefusal, message: string) {
    super(`${message}; an entry must carry the descriptor its peer signed, handed on by one signed hop per owner`)
    this.reason = reason
  }
}
