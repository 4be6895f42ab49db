/** Plain-text tables and JSON output for the CLI. */

export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n')
}

/** Left-aligned columns, header first. */
export function formatTable (header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map(r => r.map(String))]
  const widths = header.map((_, i) => Math.max(...cells.map(r => (r[i] ?? '').length)))
  return cells.map(r => r.map((c, i) => (c ?? '').padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n') + '\n'
}

export function shortId (peerId: string): string {
  return peerId.length > 16 ? `${peerId.slice(0, 8)}…${peerId.slice(-6)}` : peerId
}
