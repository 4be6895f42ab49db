// The dashboard page: one EventSource (the feed sends a snapshot a second,
// earlier on an anomaly or a refusal), tables built with textContent (no
// markup from data), uPlot for what is better looked at than read.
import uPlot from './uPlot.esm.js'
import { draw } from './graph.js'

const $ = id => document.getElementById(id)
const TYPES = ['edge', 'bridge', 'sentinel']
const COLOURS = { edge: '#4e9be6', bridge: '#f2a23a', sentinel: '#5cc27a' }
const REASON_COLOURS = ['#ef5b5b', '#e6c84e', '#b07aa1', '#ff9da7', '#9c755f', '#76b7b2', '#edc948', '#bab0ac']
const MAX_POINTS = 600

// ---- formatting -----------------------------------------------------------
function el (tag, props = {}, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v
    else if (k === 'title') e.title = v
    else e.dataset[k] = v
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')))
  return e
}
const short = id => id.length > 16 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id
function duration (s) {
  if (s == null) return '—'
  const neg = s < 0; s = Math.abs(s)
  const out = s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : s < 172800 ? `${(s / 3600).toFixed(1)} h` : `${(s / 86400).toFixed(1)} d`
  return neg ? `${out} ago` : out
}
function bytes (n) {
  if (n < 1024) return `${n} B`
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1073741824) return `${(n / 1048576).toFixed(1)} MiB`
  return `${(n / 1073741824).toFixed(2)} GiB`
}
const typeDot = t => el('span', { class: `type ${t ?? 'unknown'}`, title: t ?? 'not admitted yet' })
function rows (table, list, render, empty) {
  const body = $(table).tBodies[0]
  if (list.length === 0) {
    const td = el('td', { class: 'empty' }, empty)
    td.colSpan = $(table).tHead.rows[0].cells.length
    body.replaceChildren(el('tr', {}, td))
    return
  }
  body.replaceChildren(...list.map(render))
}

// ---- charts -----------------------------------------------------------------
const history = { t: [], views: { edge: [], bridge: [], sentinel: [] }, sampler: { edge: [], bridge: [], sentinel: [] }, refusals: {} }
let viewsChart
let refusalsChart
let refusalReasons = ''

function chartWidth (id) { return Math.max(240, $(id).clientWidth - 4) }

function viewsData () {
  return [history.t, ...TYPES.map(t => history.views[t]), ...TYPES.map(t => history.sampler[t])]
}
function refusalsData (reasons) {
  return [history.t, ...reasons.map(r => history.refusals[r])]
}

function drawCharts () {
  if (history.t.length === 0) return
  if (viewsChart == null) {
    viewsChart = new uPlot({
      width: chartWidth('views-chart'),
      height: 180,
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(4, max + 1)] } },
      axes: [{ stroke: '#8593a3', grid: { stroke: '#26313d' } }, { stroke: '#8593a3', grid: { stroke: '#26313d' } }],
      series: [{}, ...TYPES.map(t => ({ label: `${t} view`, stroke: COLOURS[t], width: 2, points: { show: false } })), ...TYPES.map(t => ({ label: `${t} sampler`, stroke: COLOURS[t], width: 1, dash: [4, 4], points: { show: false } }))]
    }, viewsData(), $('views-chart'))
  } else {
    viewsChart.setData(viewsData())
  }
  const reasons = Object.keys(history.refusals).sort()
  const key = reasons.join(',')
  if (refusalsChart == null || key !== refusalReasons) {
    refusalsChart?.destroy()
    refusalReasons = key
    refusalsChart = new uPlot({
      width: chartWidth('refusals-chart'),
      height: 160,
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(2, max + 1)] } },
      axes: [{ stroke: '#8593a3', grid: { stroke: '#26313d' } }, { stroke: '#8593a3', grid: { stroke: '#26313d' } }],
      series: [{}, ...reasons.map((r, i) => ({ label: r, stroke: REASON_COLOURS[i % REASON_COLOURS.length], width: 2, points: { show: false }, paths: uPlot.paths.stepped({ align: 1 }) }))]
    }, refusalsData(reasons), $('refusals-chart'))
  } else {
    refusalsChart.setData(refusalsData(reasons))
  }
}

function addPoint (p) {
  const t = p.t / 1000
  if (history.t.length > 0 && t <= history.t[history.t.length - 1]) return
  const n = history.t.length
  history.t.push(t)
  for (const type of TYPES) { history.views[type].push(p.views[type]); history.sampler[type].push(p.sampler[type]) }
  for (const reason of Object.keys(p.refusals)) history.refusals[reason] ??= new Array(n).fill(0)
  for (const [reason, list] of Object.entries(history.refusals)) list.push(p.refusals[reason] ?? 0)
  if (history.t.length > MAX_POINTS) {
    history.t.shift()
    for (const type of TYPES) { history.views[type].shift(); history.sampler[type].shift() }
    for (const list of Object.values(history.refusals)) list.shift()
  }
}

// ---- panels -----------------------------------------------------------------
function renderNode (s) {
  const n = s.node
  const items = [
    ['PeerId', el('span', { class: 'mono', peerId: n.peerId }, n.peerId)],
    ['type', el('span', {}, typeDot(n.type), n.type)],
    ['overlay', n.overlay],
    ['key epoch', n.epoch ?? '—'],
    ['token', n.tokenSecondsLeft == null ? el('span', { class: 'state-refused' }, 'none') : el('span', { class: n.tokenSecondsLeft > 0 ? '' : 'state-refused' }, `${duration(n.tokenSecondsLeft)} left`)],
    ['credential', n.credentialRefused != null ? el('span', { class: 'state-refused' }, `refused: ${n.credentialRefused}`) : n.credentialExpiresAt == null ? '—' : `expires in ${duration(n.credentialSecondsLeft)}`],
    ['issuers', el('span', { class: n.issuers.reachable === 0 ? 'state-refused' : n.issuers.reachable < n.issuers.total ? 'state-stale' : 'state-ok', issuers: `${n.issuers.reachable}/${n.issuers.total}` }, `${n.issuers.reachable} of ${n.issuers.total} reachable`)],
    ['connections', `${n.connections} (${n.admittedPeers} admitted peers)`],
    ['up', duration(n.uptimeSeconds)],
    ['version', n.version]
  ]
  $('node').replaceChildren(...items.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]))
}

function renderPeers (s) {
  const p = s.peers
  $('peer-count').textContent = `${p.total} known · ${p.connected} connected · ${TYPES.map(t => `${p.byType[t]} ${t}`).join(' · ')}`
  $('peer-count').dataset.total = String(p.total)
  $('peer-count').dataset.connected = String(p.connected)
  rows('peers', p.rows, r => el('tr', { peer: r.peerId, state: r.state },
    el('td', { class: 'mono', title: r.peerId }, short(r.peerId)),
    el('td', {}, typeDot(r.type), r.type ?? '—'),
    el('td', { class: r.admitted ? 'state-ok' : 'state-known' }, r.admitted ? 'yes' : 'no'),
    el('td', { class: `state-${r.state}` }, r.state),
    el('td', {}, r.score),
    el('td', {}, r.lastSeenSecondsAgo === 0 ? 'now' : r.lastSeenSecondsAgo == null ? 'never' : `${duration(r.lastSeenSecondsAgo)} ago`),
    el('td', { class: 'mono' }, r.addresses.join(' '))
  ), 'no peer known yet')
}

function renderGraph (s) {
  draw($('graph'), s.graph)
  $('graph-legend').textContent = `${s.graph.nodes.length - 1} peers · colour: type (blue edge, orange bridge, green sentinel) · red: refused or quarantined`
}

function renderViews (s) {
  $('views-now').textContent = TYPES.map(t => `${t} ${s.views[t].size}/${s.views[t].capacity}${s.views[t].member ? ' (member)' : ''} · sampler ${s.views[t].sampled}`).join('  ·  ')
}

function renderRefusals (s) {
  const r = s.refusals
  $('refusal-total').textContent = `${r.total} since start · ${Object.entries(r.byReason).map(([k, v]) => `${k} ${v}`).join(' · ')}`
  $('refusal-total').dataset.total = String(r.total)
  rows('refused', r.recent, x => el('tr', { peer: x.peerId, reason: x.reason },
    el('td', { class: 'mono', title: x.peerId }, short(x.peerId)),
    el('td', { class: 'state-refused' }, x.reason),
    el('td', {}, x.count),
    el('td', {}, `${duration(x.secondsAgo)} ago`)
  ), 'none refused')
}

function renderRpc (s) {
  const r = s.rpc
  $('rpc-total').textContent = `${r.granted} granted · ${r.refused} refused`
  const max = Math.max(1, ...r.rows.map(x => x.granted + x.refused))
  rows('rpc', r.rows, x => {
    const g = el('span', { class: 'bar' }); g.style.width = `${(x.granted / max) * 100}px`
    const f = el('span', { class: 'bar refused' }); f.style.width = `${(x.refused / max) * 100}px`
    return el('tr', { method: x.method }, el('td', { class: 'mono' }, x.method), el('td', {}, x.granted), el('td', {}, x.refused), el('td', {}, g, f))
  }, 'no call served yet')
}

function renderAnomalies (s) {
  const a = s.anomalies
  $('anomaly-summary').textContent = `${a.held} held · delivery latency median ${a.latencyMs.median == null ? '—' : `${Math.round(a.latencyMs.median)} ms`}, max ${a.latencyMs.max == null ? '—' : `${a.latencyMs.max} ms`}`
  rows('anomalies', a.rows, x => el('tr', { anomaly: x.id },
    el('td', { class: 'mono' }, x.kind),
    el('td', { class: x.severity >= 7 ? 'state-refused' : x.severity >= 4 ? 'state-stale' : '' }, x.severity),
    el('td', { class: 'mono', title: x.origin }, short(x.origin) + (x.overlay == null ? '' : ` (${x.overlay})`)),
    el('td', {}, duration(x.ageSeconds)),
    el('td', {}, `${x.latencyMs} ms`),
    el('td', { class: x.verified ? 'state-ok' : 'state-refused' }, x.verified ? 'yes' : 'no')
  ), 'no anomaly held')
}

function renderBundles (s) {
  const b = s.bundles
  $('quota-bar').style.width = `${(b.usedFraction * 100).toFixed(1)}%`
  $('quota').textContent = `${bytes(b.bytes)} of ${bytes(b.quotaBytes)} · ${b.counts.inbox} in · ${b.counts.outbox} out · ${b.counts.fragments} fragments · ${b.counts.delivered} delivered`
  rows('outbox', b.outbox, x => el('tr', { bundle: x.id }, el('td', { class: 'mono' }, short(x.id)), el('td', { class: 'mono', title: x.destination }, short(x.destination)), el('td', {}, bytes(x.size)), el('td', { class: `state-${x.state}` }, x.state)), 'empty')
  rows('inbox', b.inbox, x => el('tr', { bundle: x.id }, el('td', { class: 'mono' }, short(x.id)), el('td', { class: 'mono', title: x.source }, short(x.source)), el('td', {}, bytes(x.size)), el('td', {}, duration(x.ageSeconds))), 'empty')
  rows('carried', b.carried, x => el('tr', { bundle: x.id }, el('td', { class: 'mono' }, short(x.id)), el('td', { class: 'mono', title: x.destination }, short(x.destination)), el('td', {}, bytes(x.bytes)), el('td', {}, x.copies), el('td', {}, duration(x.secondsLeft))), 'none carried')
}

function renderFederation (s) {
  const f = s.federation
  $('federation-state').textContent = f.enabled ? `${f.anchors.length} anchors · ${f.pins.filter(p => p.state === 'fresh').length} fresh pins · ${f.pins.filter(p => p.state !== 'fresh').length} stale` : 'not federated (federation is for bridges with federation.enabled)'
  rows('anchors', f.anchors, x => el('tr', {}, el('td', {}, x.overlay), el('td', { class: 'mono', title: x.root }, short(x.root))), 'none')
  rows('pins', f.pins, x => el('tr', { pin: x.remoteId }, el('td', { class: 'mono', title: x.remoteId }, short(x.remoteId)), el('td', {}, x.overlay), el('td', { class: `state-${x.state}` }, x.state), el('td', {}, `${x.rotationDue.replace('T', ' ').slice(0, 19)} (${duration(x.secondsLeft)})`)), 'none')
}

function render (s) {
  for (const part of [renderNode, renderPeers, renderGraph, renderViews, renderRefusals, renderRpc, renderAnomalies, renderBundles, renderFederation]) {
    try { part(s) } catch (err) { console.error(part.name, err) }
  }
  drawCharts()
  document.body.dataset.snapshotAt = String(s.at)
  document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots ?? 0) + 1)
}

// ---- the feed ---------------------------------------------------------------
const state = $('feed-state')
const feed = new EventSource('/dashboard/events')
feed.addEventListener('open', () => { state.textContent = 'live'; state.className = 'pill live' })
feed.addEventListener('history', e => {
  const h = JSON.parse(e.data)
  history.t = h.t
  history.views = h.views
  history.sampler = h.sampler
  history.refusals = h.refusals
})
feed.addEventListener('point', e => { addPoint(JSON.parse(e.data)) })
feed.addEventListener('snapshot', e => { render(JSON.parse(e.data)) })
feed.addEventListener('error', async () => {
  state.textContent = 'reconnecting…'
  state.className = 'pill down'
  if (feed.readyState === EventSource.CLOSED) {
    // refused (the session ended): back to the login page
    location.assign('/dashboard/login')
  }
})

$('logout').addEventListener('submit', async e => {
  e.preventDefault()
  feed.close()
  await fetch('/dashboard/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => {})
  location.assign('/dashboard/login')
})
window.addEventListener('resize', () => {
  viewsChart?.setSize({ width: chartWidth('views-chart'), height: 180 })
  refusalsChart?.setSize({ width: chartWidth('refusals-chart'), height: 160 })
})
