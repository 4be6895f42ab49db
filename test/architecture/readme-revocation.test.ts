/**
 * The README's revocation examples can complete (issue #17): a block that
 * creates an issuer with `--threshold K` and registers admins or approves
 * registers at least K admins and shows K approvals by distinct keys.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { it } from 'node:test'

const README = new URL('../../../README.md', import.meta.url)

it('every README example with --threshold K registers K admins and shows K approvals (issue #17)', async () => {
  const text = await readFile(README, 'utf8')
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map(m => m[1] ?? '')
  let checked = 0
  for (const block of blocks) {
    const threshold = /tempus issuer init\b[^\n]*--threshold (\d+)/.exec(block)
    const admins = [...block.matchAll(/tempus issuer admin add\b[^\n]*--name (\S+)/g)].map(m => m[1] ?? '')
    const approvals = new Set([...block.matchAll(/tempus admin approve\b[^\n]*--key (\S+)/g)].map(m => m[1]))
    if (threshold == null || (admins.length === 0 && approvals.size === 0)) {
      continue
    }
    const k = Number(threshold[1])
    checked++
    assert.ok(new Set(admins).size >= k, `--threshold ${k} with ${admins.length} admin(s) registered can never complete:\n${block}`)
    assert.ok(approvals.size >= k, `--threshold ${k} with ${approvals.size} approving key(s) never revokes:\n${block}`)
  }
  assert.ok(checked > 0, 'the README shows a revocation')
})
