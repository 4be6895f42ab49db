/**
 * The node's record of its last descriptor per view (src/node/mint-log.ts):
 * kept durably across a restart, only ever moved forward, a missing file is
 * a first start and a damaged one is refused, naming the file.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { FileMintLog } from '../../src/node/mint-log.ts'

describe('the mint log in the data directory', () => {
  it('keeps the last mint per view across a restart, refuses a damaged file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tempus-mints-'))
    try {
      const log = new FileMintLog(dir)
      assert.deepEqual(await log.load(), {}, 'no file: nothing minted before')
      await log.record('edge', 1_000)
      await log.record('sentinel', 2_000)
      await log.record('edge', 900) // an older one (two writes crossed) moves nothing back
      assert.deepEqual(await new FileMintLog(dir).load(), { edge: 1_000, sentinel: 2_000 }, 'what a restart reads')
      assert.equal((await stat(join(dir, 'descriptor-mints.json'))).mode & 0o777, 0o600)
      for (const bad of ['{', '[]', '{"edge":"soon"}', '{"edge":-1}', '{"relay":5}', 'null']) {
        await writeFile(join(dir, 'descriptor-mints.json'), bad)
        await assert.rejects(new FileMintLog(dir).load(), (err: any) => err.name === 'DataDirError' && err.message.includes('descriptor-mints.json is damaged') && err.message.includes('remove it'), bad)
      }
      assert.equal(await readFile(join(dir, 'descriptor-mints.json'), 'utf8'), 'null')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
