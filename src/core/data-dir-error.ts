/**
 * A file of a node's data directory is missing, unreadable or damaged; the
 * message names the file and what to do.
 */
export class DataDirError extends Error {
  override readonly name = 'DataDirError'
}
