/**
 * The source tree keeps its layers: no import circle between files, and no
 * folder imports one it may not (scripts/lib/import-graph.ts, ARCHITECTURE.md).
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import { checkImports } from '../../scripts/lib/import-graph.ts'

/** the sources, not the build: this file runs from dist/test/architecture */
const SRC = fileURLToPath(new URL('../../../src/', import.meta.url))

describe('architecture: the import graph', () => {
  it('src/ has no import circle and no import against the layers', () => {
    const report = checkImports(SRC)
    assert.ok(report.files > 100 && report.edges > 500, `read ${report.files} files, ${report.edges} imports`)
    assert.deepEqual(report.circles, [], 'import circles')
    assert.deepEqual(report.upward.map(u => `${u.from} → ${u.to}: ${u.why}`), [], 'imports against the layers')
  })

  it('the check finds a circle, an upward import and an unplaced folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tempus-imports-'))
    try {
      const files: Record<string, string> = {
        'core/a.ts': "import { b } from './b.ts'\nexport const a = 1\n",
        'core/b.ts': "import { a } from './a.ts'\nexport const b = a\n",
        'admission/x.ts': "import type { Y } from '../node/y.ts'\nexport type X = Y\n",
        'node/y.ts': "export type Y = number\nexport const z = await import('../somewhere/w.ts')\n",
        'somewhere/w.ts': "import {\n  a\n} from '../core/a.ts'\nexport { a }\n"
      }
      for (const [path, text] of Object.entries(files)) {
        await mkdir(dirname(join(dir, path)), { recursive: true })
        await writeFile(join(dir, path), text)
      }
      const report = checkImports(dir)
      assert.deepEqual(report.circles, [['core/a.ts', 'core/b.ts']])
      assert.deepEqual(report.upward.map(u => `${u.from} → ${u.to}`).sort(), ['admission/x.ts → node/y.ts', 'node/y.ts → somewhere/w.ts', 'somewhere/w.ts → core/a.ts'])
      assert.ok(report.upward.some(u => /not placed in the layers/.test(u.why)))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
