/**
 * How CLI commands talk to a running node: its runtime file names the admin
 * API, its data directory holds the bearer token.
 */
import { readFile } from 'node:fs/promises'
import { dataPath, readRuntimeInfo } from '../node/data-dir.ts'
import { NodeNotRunningError } from '../node/errors.ts'
import { ApiError } from './errors.ts'

/** `accept`: statuses besides 2xx whose body is the answer (503 from `/readyz`) */
export async function apiGet<T> (dataDir: string, path: string, accept: number[] = []): Promise<T> {
  return apiRequest<T>(dataDir, 'GET', path, undefined, accept)
}

export async function apiPost<T> (dataDir: string, path: string, body?: unknown): Promise<T> {
  return apiRequest<T>(dataDir, 'POST', path, body)
}

async function apiRequest<T> (dataDir: string, method: 'GET' | 'POST', path: string, body?: unknown, accept: number[] = []): Promise<T> {
  const info = await readRuntimeInfo(dataDir)
  if (info.api == null) {
    throw new NodeNotRunningError(`the node in ${dataDir} runs without its admin API (api.enabled: false)`)
  }
  const token = (await readFile(dataPath(dataDir, 'apiToken'), 'utf8')).trim()
  let res: Response
  try {
    res = await fetch(new URL(path, info.api), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000)
    })
  } catch {
    throw new NodeNotRunningError(`the node in ${dataDir} does not answer at ${info.api} (pid ${info.pid}); is it running?`)
  }
  if (!res.ok && !accept.includes(res.status)) {
    const detail = await res.json().then((b: any) => typeof b?.detail === 'string' ? `: ${b.detail as string}` : '', () => '')
    throw new ApiError(`the node's admin API answered ${res.status} for ${path}${detail}`, res.status)
  }
  return await res.json() as T
}
