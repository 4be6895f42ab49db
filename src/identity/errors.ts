export class IdentityError extends Error {
  override readonly name = 'IdentityError'
}
