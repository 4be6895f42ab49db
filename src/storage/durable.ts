/**
 * Synchronous durable writes for the storage layer's own small files (the
 * marker, the events log). Synchronous because SQLite stores are opened in
 * constructors; these files are written once per store creation or reset,
 * never on a hot path.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { dirname } from 'node:path'
import { DIR_MODE, FILE_MODE } from './constants.ts'

/** fsync a directory, so a create, rename or unlink in it survives a power cut */
export function syncDir (dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Replace `path` atomically: temporary file (0600), fsync, rename, fsync the directory. */
export function writeFileDurablySync (path: string, contents: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: DIR_MODE })
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`
  const fd = openSync(tmp, 'wx', FILE_MODE)
  try {
    writeSync(fd, contents)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  try {
    renameSync(tmp, path)
  } catch (err) {
    try { unlinkSync(tmp) } catch {}
    throw err
  }
  syncDir(dirname(path))
}

/** Append one line and fsync it (an append-only log: a line is never rewritten). */
export function appendLineDurablySync (path: string, line: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: DIR_MODE })
  const fd = openSync(path, 'a', FILE_MODE)
  try {
    writeSync(fd, line.endsWith('\n') ? line : line + '\n')
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
