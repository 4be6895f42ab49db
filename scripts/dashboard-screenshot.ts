/**
 * Regenerates docs/dashboard.png (the README's "Dashboard" section): the
 * browser test's mesh (test/fixtures/dashboard-mesh.ts) — a sentinel, a
 * bridge, two edges, RPC granted and refused, bundles, a refused node of
 * another overlay — plus a few anomalies, seen through Debian's chromium
 * after a dozen snapshots so the plots have a history.
 *
 *   npm run dashboard:screenshot [-- OUT.png]
 */
import { fileURLToPath } from 'node:url'
import { launchChromium } from '../test/fixtures/browser.ts'
import { startDashboardMesh } from '../test/fixtures/dashboard-mesh.ts'
import { eventually } from '../test/fixtures/wait.ts'

const out = process.argv[2] ?? fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url))
const SNAPSHOTS = 12

const mesh = await startDashboardMesh()
const browser = await launchChromium()
try {
  const page = await browser.newPage()
  await page.setViewport({ width: 1400, height: 1000 })
  await page.goto(`${mesh.url}/dashboard/login`)
  await page.type('#token', mesh.token)
  await Promise.all([page.waitForNavigation(), page.click('#submit')])

  const [edgeA, edgeB] = mesh.edges
  if (edgeA == null || edgeB == null) throw new Error('the mesh has two edges')
  await eventually(() => edgeA.libp2p.services.pubsub.getSubscribers('tempus/anomaly/1').length > 0, 'the edge on the anomaly topic')
  for (const [node, kind, severity] of [[edgeA, 'ioc-hash', 8], [edgeB, 'port-scan', 5], [mesh.bridge, 'config-drift', 2]] as const) {
    const anomaly = await node.gossip.publish({ kind, digest: 'ab'.repeat(32), severity, metadata: { source: 'dashboard-screenshot' } })
    await page.waitForSelector(`#anomalies tr[data-anomaly="${anomaly.id}"]`, { timeout: 20_000 })
  }
  const counted = await page.evaluate(() => Number((globalThis as any).document.body.dataset.snapshots ?? 0))
  await page.waitForFunction((n: number) => Number((globalThis as any).document.body.dataset.snapshots ?? 0) >= n, { polling: 'mutation', timeout: 60_000 }, counted + SNAPSHOTS)
  await page.screenshot({ path: out, fullPage: true })
  process.stdout.write(`${out}\n`)
} finally {
  await browser.close()
  await mesh.stop()
}
