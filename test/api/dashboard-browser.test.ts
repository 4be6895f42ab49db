/**
 * The dashboard in a real browser (Debian's chromium through puppeteer-core):
 * a mesh of four nodes and a refused node of another overlay; a wrong token
 * gets no session; the right one shows every panel with the mesh's own
 * figures, and an anomaly published during the test appears on the page
 * within seconds (awaited on the page's DOM, not by sleeping). The
 * screenshot goes to the test's temporary directory.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { chromiumMissing, launchChromium } from '../fixtures/browser.ts'
import { startDashboardMesh } from '../fixtures/dashboard-mesh.ts'
import { eventually } from '../fixtures/wait.ts'
import type { DashboardMesh } from '../fixtures/dashboard-mesh.ts'
import type { Browser, Page } from 'puppeteer-core'

const missing = await chromiumMissing()

/** text of every element matching `selector` */
async function texts (page: Page, selector: string): Promise<string[]> {
  return await page.$$eval(selector, els => els.map(e => e.textContent ?? ''))
}

describe('dashboard in chromium', { skip: missing }, () => {
  let mesh: DashboardMesh
  let browser: Browser
  let page: Page
  let dir: string
  const problems: string[] = []
  const refusals: string[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tempus-dashboard-browser-'))
    mesh = await startDashboardMesh()
    browser = await launchChromium()
    page = await browser.newPage()
    // a CSP violation or a script error shows up here; the test ends with none
    // (a refused request is listed by `refusals`, not here)
    page.on('console', msg => { if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`console: ${msg.text()}`) })
    page.on('response', res => { if (res.status() >= 400) refusals.push(`${res.request().method()} ${new URL(res.url()).pathname} ${res.status()}`) })
    page.on('pageerror', err => { problems.push(`page: ${String(err)}`) })
  })
  after(async () => {
    await browser?.close()
    await mesh?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('refuses a wrong token: an error on the login page and no session cookie', async () => {
    const res = await page.goto(`${mesh.url}/dashboard/`)
    assert.equal(new URL(page.url()).pathname, '/dashboard/login', 'without a session the page sends you to log in')
    assert.match(String(res?.headers()['content-security-policy']), /script-src 'self'/)
    await page.type('#token', `${mesh.token}x`)
    await page.click('#submit')
    await page.waitForSelector('#error:not([hidden])')
    assert.equal(await page.$eval('#error', e => e.textContent), 'Wrong token.')
    assert.deepEqual((await page.cookies()).map(c => c.name), [])
    assert.equal(new URL(page.url()).pathname, '/dashboard/login')
    // nor does the feed answer without a session
    const feed = await fetch(`${mesh.url}/dashboard/events`)
    assert.equal(feed.status, 401)
    await feed.body?.cancel()
  })

  it('logs in with the token (a POST body; the cookie is HttpOnly and SameSite=Strict) and shows every panel with the mesh\'s figures', async () => {
    await page.$eval('#token', e => { (e as unknown as { value: string }).value = '' })
    await page.type('#token', mesh.token)
    await Promise.all([page.waitForNavigation(), page.click('#submit')])
    assert.equal(new URL(page.url()).pathname, '/dashboard/')
    assert.ok(!page.url().includes(mesh.token), 'the token is in no URL')
    const [cookie] = await page.cookies()
    assert.equal(cookie?.name, 'tempus_dashboard')
    assert.equal(cookie?.httpOnly, true)
    assert.equal(cookie?.sameSite, 'Strict')
    assert.equal(await page.evaluate(() => (globalThis as any).document.cookie), '', 'scripts cannot read the session')

    const { sentinel, bridge, edges, foreign } = mesh
    const peers = [bridge, ...edges].map(n => n.peerId.toString())
    // the first snapshot, then one where all three peers are connected
    await page.waitForFunction(() => Number((globalThis as any).document.querySelector('#peer-count')?.getAttribute('data-connected')) >= 3, { polling: 'mutation', timeout: 20_000 })

    // node
    assert.equal(await page.$eval('#node [data-peer-id]', e => e.textContent), sentinel.peerId.toString())
    const node = (await texts(page, '#node dd')).join(' | ')
    assert.match(node, /sentinel/)
    assert.match(node, new RegExp(sentinel.enrollment.overlay))
    assert.match(node, /\d+ (s|min) left/, 'token seconds left')
    assert.match(node, /expires in/, 'credential expiry')
    assert.equal(await page.$eval('#node [data-issuers]', e => e.getAttribute('data-issuers')), '1/1')
    // peers: all three with their type, admitted
    for (const [id, type] of [[peers[0], 'bridge'], [peers[1], 'edge'], [peers[2], 'edge']] as const) {
      const row = await page.$eval(`#peers tr[data-peer="${id}"]`, tr => [...tr.querySelectorAll('td')].map(td => td.textContent))
      assert.equal(row[1], type)
      assert.equal(row[2], 'yes')
      assert.equal(row[3], 'connected')
    }
    // the refused peer: in the refusals table and on the graph, in red
    const refusedReason = await page.waitForSelector(`#refused tr[data-peer="${foreign.peerId.toString()}"]`, { timeout: 10_000 }).then(async h => await h?.evaluate(tr => tr.getAttribute('data-reason')))
    assert.ok(refusedReason != null && refusedReason.length > 0)
    assert.ok(Number(await page.$eval('#refusal-total', e => e.getAttribute('data-total'))) >= 1)
    assert.equal(await page.$eval(`#graph g[data-peer="${foreign.peerId.toString()}"]`, g => g.getAttribute('data-state')), 'refused')
    assert.equal(await page.$$eval('#graph g[data-state="connected"]', gs => gs.length), 4, 'this node and its three connected peers')
    assert.ok(await page.$('#refusals-chart canvas') != null, 'refusals plotted over time')
    // views: sizes over time and now
    assert.ok(await page.$('#views-chart canvas') != null, 'views plotted over time')
    assert.match(await page.$eval('#views-now', e => e.textContent ?? ''), /sentinel \d+\/\d+ \(member\)/)
    // RPC by method: status.get granted three times, admin.secret refused
    const rpc = Object.fromEntries((await page.$$eval('#rpc tr[data-method]', trs => trs.map(tr => [tr.getAttribute('data-method'), [...tr.querySelectorAll('td')].slice(1, 3).map(td => Number(td.textContent))]))) as Array<[string, number[]]>)
    assert.deepEqual(rpc['status.get'], [3, 0])
    assert.deepEqual(rpc['admin.secret'], [0, 1])
    // bundles: the edge's in the inbox, the undeliverable one pending in the outbox, store bytes against the quota
    assert.equal(await page.$$eval('#inbox tr[data-bundle]', trs => trs.length), 1)
    assert.deepEqual(await texts(page, '#outbox tr[data-bundle] td:last-child'), ['pending'])
    assert.match(await page.$eval('#quota', e => e.textContent ?? ''), /of \d+(\.\d)? (MiB|GiB)/)
    // federation: this sentinel is not a federated bridge, and says so
    assert.match(await page.$eval('#federation-state', e => e.textContent ?? ''), /not federated/)
  })

  it('shows an anomaly published during the test within seconds, with kind, severity, origin and latency', async () => {
    const [edge] = mesh.edges as [typeof mesh.sentinel]
    await eventually(() => edge.libp2p.services.pubsub.getSubscribers('tempus/anomaly/1').length > 0, 'the edge on the anomaly topic')
    const before = Date.now()
    const anomaly = await edge.gossip.publish({ kind: 'ioc-hash', digest: 'ab'.repeat(32), severity: 8, metadata: { rule: 'dash-17' } })
    const row = await page.waitForSelector(`#anomalies tr[data-anomaly="${anomaly.id}"]`, { timeout: 10_000 })
    const shownAfterMs = Date.now() - before
    assert.ok(shownAfterMs < 10_000, `shown after ${shownAfterMs} ms`)
    const cells = await row!.evaluate(tr => [...tr.querySelectorAll('td')].map(td => td.textContent))
    assert.equal(cells[0], 'ioc-hash')
    assert.equal(cells[1], '8')
    assert.equal(cells[2], `${edge.peerId.toString().slice(0, 6)}…${edge.peerId.toString().slice(-6)}`)
    assert.match(cells[4] ?? '', /^\d+ ms$/)
    assert.equal(cells[5], 'yes')
  })

  it('shows a federated bridge\'s anchors and its fresh pin with the deadline (the bridge\'s own dashboard)', async () => {
    const { bridge, foreignBridge, bridgeApi } = mesh
    const other = await browser.newPage()
    try {
      await other.goto(`${bridgeApi.url}/dashboard/login`)
      await other.type('#token', bridgeApi.token)
      await Promise.all([other.waitForNavigation(), other.click('#submit')])
      const row = await other.waitForSelector(`#pins tr[data-pin="${foreignBridge.peerId.toString()}"]`, { timeout: 10_000 })
      const cells = await row!.evaluate(tr => [...tr.querySelectorAll('td')].map(td => td.textContent ?? ''))
      assert.equal(cells[1], 'elsewhere')
      assert.equal(cells[2], 'fresh')
      const due = bridge.federation?.status().pins.find(p => p.remoteId === foreignBridge.peerId.toString())?.rotationDue ?? 0
      assert.ok(cells[3]?.startsWith(new Date(due).toISOString().replace('T', ' ').slice(0, 16)), `${cells[3]} is the deadline`)
      assert.deepEqual(await texts(other, '#anchors tbody td:first-child'), ['elsewhere'])
      assert.match(await other.$eval('#federation-state', e => e.textContent ?? ''), /^1 anchors · 1 fresh pins · 0 stale$/)
      assert.equal(await other.$eval('#node [data-peer-id]', e => e.textContent), bridge.peerId.toString())
    } finally {
      await other.close()
    }
  })

  it('saves a screenshot, with no script error or CSP violation on the page', async () => {
    const path = join(dir, 'dashboard.png')
    await page.screenshot({ path, fullPage: true })
    assert.ok((await stat(path)).size > 10_000)
    assert.deepEqual(problems, [])
    assert.deepEqual(refusals, ['POST /dashboard/login 401'], 'the wrong token, and nothing else the page asked for')
  })
})
