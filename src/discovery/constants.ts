/** Limits of the interface-scoped mDNS discovery. */
export const MDNS_LIMITS = {
  /** multiaddrs in one announcement, sent or believed (a node has a handful per link) */
  maxAddrs: 16,
  /** records (answers + additionals) in a packet worth reading; an announcement has maxAddrs + 1 */
  maxRecords: 64,
  /** how long a hearer may cache an announcement, s (the libp2p mDNS value) */
  ttlSeconds: 120,
  /** announcements a link remembers, to pass each on once per half TTL (mdns-pacing.ts) */
  maxRemembered: 4096,
  /** the mDNS group and port (RFC 6762) */
  group: '224.0.0.251',
  port: 5353
} as const
