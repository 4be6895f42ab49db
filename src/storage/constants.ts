/** File names the storage layer keeps beside the stores it guards. */

/** the marker: which stores exist in a directory (kept apart from them) */
export const MARKER_FILE = 'stores.json'

/** the exclusive lock of a data directory: pid and start time of its holder */
export const LOCK_FILE = 'LOCK'

/** append-only audit of storage decisions (resets, lock take-overs), JSON lines */
export const EVENTS_FILE = 'events.log'

/** every file the storage layer creates holds state: owner only */
export const FILE_MODE = 0o600
export const DIR_MODE = 0o700
