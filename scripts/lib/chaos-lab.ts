/**
 * The chaos harness's network: one namespace per node, each with a veth
 * into a bridge that lives in a namespace of its own, plus one veth from the
 * harness's own namespace (where the issuer replicas listen) into the same
 * bridge. Faults are what an operator would see: a port of the bridge set
 * down (the node's link is gone, its interface loses carrier), half of the
 * ports moved to a second bridge (a partition; the issuer stays with the
 * first half) and moved back.
 *
 * Every name carries the owning process's pid (`chaos-<pid>-…`), so a later
 * run removes what a killed run left behind, and only that: namespaces,
 * the processes still inside them, and `/tmp/chaos-<pid>-*` directories.
 * Requires root and iproute2.
 */
import { execFile } from 'node:child_process'
import { readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface ChaosHost {
  ns: string
  /** the bridge-side end of the host's veth (set down for a link fault) */
  port: string
  ip: string
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err: any) {
    return err.code === 'EPERM'
  }
}

/**
 * Remove what chaos runs whose process is gone left behind. Returns what it
 * removed, for the log.
 */
export async function removeStaleChaos (): Promise<string[]> {
  const removed: string[] = []
  const { stdout } = await run('ip', ['netns', 'list'])
  for (const line of stdout.split('\n')) {
    const ns = line.split(' ')[0] ?? ''
    const m = /^chaos-(\d+)-/.exec(ns)
    if (m == null || alive(Number(m[1]))) continue
    const pids = await run('ip', ['netns', 'pids', ns]).then(r => r.stdout.split('\n').filter(Boolean).map(Number)).catch(() => [] as number[])
    for (const pid of pids) {
      try { process.kill(pid, 'SIGKILL') } catch {}
    }
    await run('ip', ['netns', 'del', ns]).catch(() => {})
    removed.push(ns)
  }
  const links = await run('ip', ['-o', 'link', 'show']).then(r => r.stdout).catch(() => '')
  for (const m of links.matchAll(/^\d+: (chaos(\d+))[@:]/gm)) {
    if (!alive(Number(m[2]))) {
      await run('ip', ['link', 'del', m[1] as string]).catch(() => {})
      removed.push(m[1] as string)
    }
  }
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const m = /^chaos-(\d+)-/.exec(name)
    if (m != null && !alive(Number(m[1]))) {
      await rm(join(tmpdir(), name), { recursive: true, force: true })
      removed.push(join(tmpdir(), name))
    }
  }
  return removed
}

export class ChaosLab {
  readonly hosts: ChaosHost[] = []
  readonly prefix: string
  readonly bridgeNs: string
  /** the harness's own address on the bridge (the issuer replicas listen here) */
  readonly hostIp: string
  private readonly hostLink: string
  private readonly subnet: string
  private created = false
  /** the neighbour-table limits this lab raised, to put back */
  private neighbourLimits?: Array<[string, string]>

  constructor () {
    this.prefix = `chaos-${process.pid}`
    this.bridgeNs = `${this.prefix}-br`
    this.hostLink = `chaos${process.pid}`.slice(0, 15)
    this.subnet = `10.233.${process.pid % 250}`
    this.hostIp = `${this.subnet}.1`
  }

  private async ip (...args: string[]): Promise<void> {
    await run('ip', args)
  }

  /** One command list through `ip -batch` (one process instead of dozens). */
  private async batch (ns: string | undefined, lines: string[]): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const child = execFile('ip', [...(ns == null ? [] : ['-n', ns]), '-batch', '-'], err => { err == null ? resolve() : reject(err) })
      child.stdin?.end(lines.join('\n') + '\n')
    })
  }

  /** The bridge, the harness's veth, and `count` hosts at .2, .3, … */
  async create (count: number): Promise<ChaosHost[]> {
    if (count > 240) {
      throw new RangeError('at most 240 hosts on one /24')
    }
    this.created = true
    await this.roomForNeighbours(count)
    await this.ip('netns', 'add', this.bridgeNs)
    await this.batch(this.bridgeNs, [
      'link add br0 type bridge', 'link set br0 up',
      'link add br1 type bridge', 'link set br1 up'
    ])
    await this.ip('link', 'add', this.hostLink, 'type', 'veth', 'peer', 'name', 'hostport', 'netns', this.bridgeNs)
    await this.batch(this.bridgeNs, ['link set hostport master br0', 'link set hostport up'])
    await this.batch(undefined, [`addr add ${this.hostIp}/24 dev ${this.hostLink}`, `link set ${this.hostLink} up`])
    for (let i = 0; i < count; i++) {
      const ns = `${this.prefix}-n${i}`
      const port = `p${i}`
      const ip = `${this.subnet}.${i + 2}`
      await this.ip('netns', 'add', ns)
      await this.ip('-n', this.bridgeNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
      await this.batch(this.bridgeNs, [`link set ${port} master br0`, `link set ${port} up`])
      await this.batch(ns, [
        `addr add ${ip}/24 dev eth0`, 'link set eth0 up', 'link set lo up',
        // multicast (mDNS) leaves through the veth
        'route add 224.0.0.0/4 dev eth0'
      ])
      this.hosts.push({ ns, port, ip })
    }
    return this.hosts
  }

  async linkDown (host: ChaosHost): Promise<void> {
    await this.ip('-n', this.bridgeNs, 'link', 'set', host.port, 'down')
  }

  async linkUp (host: ChaosHost): Promise<void> {
    await this.ip('-n', this.bridgeNs, 'link', 'set', host.port, 'up')
  }

  /** Move these hosts' ports to the second bridge: they reach each other, not the rest (nor the issuer). */
  async partition (hosts: ChaosHost[]): Promise<void> {
    await this.batch(this.bridgeNs, hosts.map(h => `link set ${h.port} master br1`))
  }

  async heal (hosts: ChaosHost[]): Promise<void> {
    await this.batch(this.bridgeNs, hosts.map(h => `link set ${h.port} master br0`))
  }

  /**
   * The kernel's neighbour (ARP) table is one table for every namespace,
   * 1,024 entries by default (`gc_thresh3`). One host per machine, as in a
   * real fleet, needs one entry per peer; N hosts on one machine need N²
   * (plus the harness's): past 31 or so, new entries are refused ("arp_cache:
   * neighbor table overflow") and the hosts started last cannot reach
   * anyone, the issuer included. Raised for the run, put back after.
   */
  private async roomForNeighbours (count: number): Promise<void> {
    const need = 2 * (count + 2) * (count + 2)
    const dir = '/proc/sys/net/ipv4/neigh/default'
    const limits: Array<[string, string]> = []
    for (const [name, want] of [['gc_thresh3', need], ['gc_thresh2', Math.ceil(need * 3 / 4)]] as const) {
      const file = join(dir, name)
      const was = (await readFile(file, 'utf8').catch(() => '')).trim()
      if (was === '' || Number(was) >= want) continue
      await writeFile(file, String(want))
      limits.push([file, was])
    }
    this.neighbourLimits = limits
  }

  /** Kill whatever still runs in the namespaces, then remove them (their veths go with them). */
  async destroy (): Promise<void> {
    if (!this.created) return
    await this.restoreNeighbourLimits()
    const all = [...this.hosts.map(h => h.ns), this.bridgeNs]
    for (const ns of all) {
      const pids = await run('ip', ['netns', 'pids', ns]).then(r => r.stdout.split('\n').filter(Boolean).map(Number)).catch(() => [] as number[])
      for (const pid of pids) {
        try { process.kill(pid, 'SIGKILL') } catch {}
      }
    }
    for (const ns of all) {
      await this.ip('netns', 'del', ns).catch(() => {})
    }
    await this.ip('link', 'del', this.hostLink).catch(() => {})
    // hosts created before a failure in create() are not in this.hosts yet
    const { stdout } = await run('ip', ['netns', 'list']).catch(() => ({ stdout: '' }))
    for (const line of stdout.split('\n')) {
      const ns = line.split(' ')[0] ?? ''
      if (ns.startsWith(`${this.prefix}-`)) await this.ip('netns', 'del', ns).catch(() => {})
    }
  }

  private async restoreNeighbourLimits (): Promise<void> {
    // the smaller limit first: gc_thresh2 may not exceed gc_thresh3 at any moment
    for (const [file, was] of (this.neighbourLimits ?? []).reverse()) {
      await writeFile(file, was).catch(() => {})
    }
    this.neighbourLimits = undefined
  }
}
