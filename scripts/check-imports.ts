/**
 * `npm run check:imports`: no import circle and no import against the
 * layers in src/ (rules and layers: scripts/lib/import-graph.ts). Exits 1
 * with every finding listed.
 */
import { fileURLToPath } from 'node:url'
import { checkImports } from './lib/import-graph.ts'

const src = fileURLToPath(new URL('../../src/', import.meta.url))
const report = checkImports(src)
for (const c of report.circles) process.stdout.write(`circle: ${c.join(' → ')} → ${c[0] ?? ''}\n`)
for (const u of report.upward) process.stdout.write(`layer: ${u.from} → ${u.to} (${u.why})\n`)
process.stdout.write(`${report.files} files, ${report.edges} imports: ${report.circles.length} circles, ${report.upward.length} imports against the layers\n`)
process.exitCode = report.circles.length + report.upward.length === 0 ? 0 : 1
