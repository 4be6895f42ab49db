// The connection graph: a small force layout (a few hundred nodes at most),
// warm-started from the last positions so the picture does not jump, with
// this node pinned in the middle; drawn as SVG built node by node (no markup
// from data).
const NS = 'http://www.w3.org/2000/svg'
const W = 640
const H = 360
const positions = new Map()

function hash (id) {
  let h = 2166136261
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619)
  return (h >>> 0) / 4294967296
}

export function layout (graph) {
  const nodes = graph.nodes.map(n => {
    const known = positions.get(n.id)
    const angle = hash(n.id) * Math.PI * 2
    const p = n.self ? { x: W / 2, y: H / 2 } : known ?? { x: W / 2 + Math.cos(angle) * 120, y: H / 2 + Math.sin(angle) * 110 }
    return { ...n, x: p.x, y: p.y, vx: 0, vy: 0 }
  })
  const index = new Map(nodes.map((n, i) => [n.id, i]))
  const links = graph.edges.map(e => [index.get(e.from), index.get(e.to), e.kind]).filter(l => l[0] != null && l[1] != null)
  const rounds = 120
  for (let r = 0; r < rounds; r++) {
    const alpha = 1 - r / rounds
    for (let i = 0; i < nodes.length; i++) {
      for (let j = i + 1; j < nodes.length; j++) {
        const a = nodes[i]; const b = nodes[j]
        let dx = b.x - a.x; let dy = b.y - a.y
        let d2 = dx * dx + dy * dy
        if (d2 < 1) { dx = hash(a.id + b.id) - 0.5; dy = 0.5 - hash(b.id + a.id); d2 = 1 }
        const f = 1800 / d2 * alpha
        const d = Math.sqrt(d2)
        a.vx -= f * dx / d; a.vy -= f * dy / d
        b.vx += f * dx / d; b.vy += f * dy / d
      }
    }
    for (const [i, j, kind] of links) {
      const a = nodes[i]; const b = nodes[j]
      const rest = kind === 'connected' ? 110 : 170
      const dx = b.x - a.x; const dy = b.y - a.y
      const d = Math.max(1, Math.sqrt(dx * dx + dy * dy))
      const f = (d - rest) * 0.05 * alpha
      a.vx += f * dx / d; a.vy += f * dy / d
      b.vx -= f * dx / d; b.vy -= f * dy / d
    }
    for (const n of nodes) {
      if (n.self) { n.x = W / 2; n.y = H / 2; n.vx = n.vy = 0; continue }
      n.vx *= 0.6; n.vy *= 0.6
      n.x = Math.min(W - 20, Math.max(20, n.x + n.vx))
      n.y = Math.min(H - 20, Math.max(20, n.y + n.vy))
    }
  }
  positions.clear()
  for (const n of nodes) positions.set(n.id, { x: n.x, y: n.y })
  return { nodes, links: links.map(([i, j, kind]) => ({ a: nodes[i], b: nodes[j], kind })) }
}

const COLOURS = { edge: '#4e9be6', bridge: '#f2a23a', sentinel: '#5cc27a' }

export function draw (svg, graph) {
  const { nodes, links } = layout(graph)
  const children = []
  for (const l of links) {
    const line = document.createElementNS(NS, 'line')
    line.setAttribute('x1', l.a.x.toFixed(1)); line.setAttribute('y1', l.a.y.toFixed(1))
    line.setAttribute('x2', l.b.x.toFixed(1)); line.setAttribute('y2', l.b.y.toFixed(1))
    line.setAttribute('class', l.kind)
    children.push(line)
  }
  for (const n of nodes) {
    const g = document.createElementNS(NS, 'g')
    g.setAttribute('data-peer', n.id)
    g.setAttribute('data-state', n.state)
    const c = document.createElementNS(NS, 'circle')
    c.setAttribute('cx', n.x.toFixed(1)); c.setAttribute('cy', n.y.toFixed(1))
    c.setAttribute('r', n.self ? '11' : '8')
    c.setAttribute('fill', COLOURS[n.type] ?? '#9aa5b1')
    c.setAttribute('class', n.self ? 'self' : n.state)
    const title = document.createElementNS(NS, 'title')
    title.textContent = `${n.id} · ${n.type ?? 'type unknown'} · ${n.state}`
    c.append(title)
    const t = document.createElementNS(NS, 'text')
    t.setAttribute('x', (n.x + 12).toFixed(1)); t.setAttribute('y', (n.y + 4).toFixed(1))
    t.textContent = (n.self ? 'this node ' : '') + '…' + n.id.slice(-6) + (n.state === 'connected' || n.self ? '' : ` (${n.state})`)
    g.append(c, t)
    children.push(g)
  }
  svg.replaceChildren(...children)
}
