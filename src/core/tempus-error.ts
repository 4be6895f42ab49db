/**
 * The one shape of every error this project throws on purpose: a stable
 * `name` (its class) and a stable `code` (what went wrong, from a small set
 * per class) for callers to branch on; the message is for people, and is
 * never sent to a remote peer. All of them are exported from the package
 * root.
 */
export abstract class TempusError extends Error {
  abstract override readonly name: string
  abstract readonly code: string
}
