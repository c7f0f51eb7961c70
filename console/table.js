// The live process table: one keyed row per process (a managed process keeps its row
// across runs), updated in place so that focus and a chosen signal survive each poll.

import { COLUMNS, FILTERS, SIGNAL_CHOICES, SORT_VALUE } from './columns.js'
import {
  bytes,
  clock,
  commandLine,
  cpuMs,
  duration,
  reasonText,
  signalName,
  statusText,
  untilText,
  userText,
  wallMs,
} from './format.js'

export function rowKey(p) {
  return p.managed ? `m:${p.managed.id}` : `h:${p.handle}`
}

/** Whether the signal and kill buttons make sense for this process. */
function isRunning(p) {
  return p.status === 'running' && (!p.managed || p.managed.status === 'running' || p.managed.status === 'starting')
}

export class ProcessTable {
  /** `actions`: {signal(p, n), kill(p), restart(p), output(p)}, each returning a promise. */
  constructor({ table, body, empty, count, filter, actions }) {
    this.table = table
    this.body = body
    this.empty = empty
    this.count = count
    this.actions = actions
    this.rows = new Map()
    this.list = []
    this.sortKey = 'pid'
    this.sortDir = -1
    this.filter = filter.value
    filter.addEventListener('change', () => {
      this.filter = filter.value
      this.render()
    })
    for (const th of table.querySelectorAll('th[data-sort]')) {
      th.querySelector('button').addEventListener('click', () => this.sortBy(th.dataset.sort))
    }
  }

  sortBy(key) {
    this.sortDir = this.sortKey === key ? -this.sortDir : key === 'command' || key === 'user' ? 1 : -1
    this.sortKey = key
    for (const th of this.table.querySelectorAll('th[data-sort]')) {
      if (th.dataset.sort === key) th.setAttribute('aria-sort', this.sortDir > 0 ? 'ascending' : 'descending')
      else th.removeAttribute('aria-sort')
    }
    this.render()
  }

  update(list) {
    this.list = list
    this.render()
  }

  render() {
    const now = Date.now()
    const value = SORT_VALUE[this.sortKey]
    const shown = this.list.filter(FILTERS[this.filter] ?? FILTERS.all)
    shown.sort((a, b) => {
      const x = value(a, now)
      const y = value(b, now)
      const c = typeof x === 'string' ? x.localeCompare(y) : x - y
      return c * this.sortDir || b.handle - a.handle
    })
    const keep = new Set(shown.map(rowKey))
    for (const [key, row] of this.rows) {
      if (!keep.has(key)) {
        row.tr.remove()
        this.rows.delete(key)
      }
    }
    // Move a row only when it is out of place: moving a node drops the focus inside it.
    let cursor = this.body.firstElementChild
    for (const p of shown) {
      const row = this.rows.get(rowKey(p)) ?? this.#createRow(p)
      this.#fill(row, p, now)
      if (row.tr === cursor) cursor = cursor.nextElementSibling
      else this.body.insertBefore(row.tr, cursor)
    }
    this.table.classList.toggle(
      'has-managed',
      this.list.some((p) => p.managed),
    )
    this.empty.hidden = shown.length > 0
    const running = this.list.filter((p) => p.status === 'running').length
    this.count.textContent = `${shown.length} shown of ${this.list.length}, ${running} running`
  }

  #createRow(p) {
    const tr = document.createElement('tr')
    const cells = {}
    for (const [key, label] of COLUMNS) {
      const td = document.createElement(key === 'command' ? 'th' : 'td')
      if (key === 'command') td.scope = 'row'
      td.dataset.col = key
      td.dataset.label = label
      if (['managed', 'health', 'restarts', 'next'].includes(key)) td.classList.add('managed-col')
      tr.append(td)
      cells[key] = td
    }
    const actions = document.createElement('td')
    actions.dataset.col = 'actions'
    actions.dataset.label = 'Actions'
    const box = document.createElement('div')
    box.className = 'actions'
    const select = document.createElement('select')
    for (const n of SIGNAL_CHOICES) select.append(new Option(`${signalName(n)} (${n})`, String(n)))
    const button = (action, text) => {
      const b = document.createElement('button')
      b.type = 'button'
      b.dataset.action = action
      b.textContent = text
      return b
    }
    const send = button('signal', 'Send')
    const kill = button('kill', 'Kill')
    const restart = button('restart', 'Restart')
    const output = button('output', 'Output')
    box.append(select, send, kill, restart, output)
    actions.append(box)
    tr.append(actions)
    const row = { tr, cells, select, send, kill, restart, output, proc: p }
    send.addEventListener('click', () => this.actions.signal(row.proc, Number(select.value)))
    kill.addEventListener('click', () => this.actions.kill(row.proc))
    restart.addEventListener('click', () => this.actions.restart(row.proc))
    output.addEventListener('click', () => this.actions.output(row.proc))
    this.rows.set(rowKey(p), row)
    return row
  }

  #fill(row, p, now) {
    row.proc = p
    const { tr, cells } = row
    tr.dataset.pid = String(p.pid)
    tr.dataset.status = p.status
    if (p.managed?.name) tr.dataset.name = p.managed.name
    set(cells.pid, String(p.pid))
    const line = commandLine(p)
    set(cells.command, p.managed?.name ? `${p.managed.name}: ${line}` : line)
    cells.command.title = line
    set(cells.user, userText(p))
    this.#status(cells.status, p)
    set(cells.started, clock(p.started_at))
    set(cells.ended, clock(p.ended_at))
    set(cells.wall, duration(wallMs(p, now)))
    set(cells.cpu, duration(cpuMs(p)))
    set(cells.memory, bytes(p.usage?.memory_peak_bytes))
    const m = p.managed
    set(cells.managed, m ? m.status : '')
    set(cells.health, m ? m.health_status : '')
    set(cells.restarts, m ? String(m.restart_count) : '')
    set(cells.next, m ? untilText(m.next_restart_at, now) : '')
    if (m?.last_error) cells.managed.title = m.last_error
    const running = isRunning(p)
    const label = m?.name ? `${m.name} (pid ${p.pid})` : `pid ${p.pid}`
    row.select.disabled = !running
    row.select.setAttribute('aria-label', `Signal for ${label}`)
    row.send.disabled = !running
    row.send.setAttribute('aria-label', `Send signal to ${label}`)
    row.kill.disabled = m ? m.status === 'stopped' : !running
    row.kill.setAttribute('aria-label', `Kill ${label}`)
    row.restart.hidden = !m
    row.restart.setAttribute('aria-label', `Restart ${label}`)
    row.output.setAttribute('aria-label', `Output of ${label}`)
  }

  #status(td, p) {
    const parts = [statusText(p)]
    if (p.oom_killed) parts.push('OOM')
    if (p.timed_out) parts.push('timed out')
    const why = reasonBadge(p)
    if (why !== null) parts.push(why.text)
    const key = parts.join('|')
    if (td.dataset.key === key) return
    td.dataset.key = key
    td.textContent = ''
    const text = document.createElement('span')
    text.className = `status status-${p.status}`
    text.textContent = parts[0]
    // Why it ended, in words, for every exited process (docs/endings.md).
    if (p.reason) text.title = reasonText(p)
    td.append(text)
    if (p.oom_killed) td.append(' ', badge('OOM', 'badge-oom', 'killed by the OOM killer'))
    if (p.timed_out) td.append(' ', badge('timed out', 'badge-timeout', 'killed by its timeout'))
    if (why !== null) td.append(' ', badge(why.text, why.cls, reasonText(p)))
  }
}

/** A badge for the reasons the status text and the OOM/timeout badges do not already say. */
function reasonBadge(p) {
  if (p.reason === 'idle_timeout') return { text: 'idle timeout', cls: 'badge-timeout' }
  if (p.reason === 'killed') return { text: `killed · ${p.killed_by}`, cls: 'badge-killed' }
  return null
}

function badge(text, cls, title) {
  const b = document.createElement('span')
  b.className = `badge ${cls}`
  b.textContent = text
  b.title = title
  return b
}

function set(el, text) {
  if (el.textContent !== text) el.textContent = text
}
