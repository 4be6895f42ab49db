/**
 * One error shape across the project: every error class it throws on
 * purpose is a TempusError with a stable `name` (its class) and a `code`
 * (that they are exported from the package root: public-errors.test.ts).
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import * as root from '../../src/index.ts'

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url))
const files = (dir: string): string[] => readdirSync(dir).flatMap(n => statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : [])

describe('architecture: one error shape', () => {
  it('every error class in src/ extends TempusError (none extends Error directly)', () => {
    const classes: string[] = []
    const direct: string[] = []
    for (const file of files(SRC)) {
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/export (?:abstract )?class (\w+Error) extends (\w+)/g)) {
        if (m[1] === 'TempusError') continue
        classes.push(m[1] as string)
        if (m[2] === 'Error') direct.push(`${m[1]} (${file.slice(SRC.length)})`)
      }
    }
    assert.ok(classes.length >= 20, `found ${classes.length} error classes`)
    assert.deepEqual(direct, [], 'error classes that skip TempusError')
  })

  it('an instance carries its class name and a code', () => {
    const cases: Array<[Error & { code: string }, string, string]> = [
      [new root.AdmissionError('expired'), 'AdmissionError', 'expired'],
      [new root.DtnError('bad-digest' as any), 'DtnError', 'bad-digest'],
      [new root.IssuerError('revoked'), 'IssuerError', 'revoked'],
      [new root.ConfigError('x', 'field'), 'ConfigError', 'config'],
      [new root.StorageError('corrupt', 'f', 'm'), 'StorageError', 'corrupt']
    ]
    for (const [err, name, code] of cases) {
      assert.ok(err instanceof root.TempusError, name)
      assert.equal(err.name, name)
      assert.equal(err.code, code)
    }
  })
})
