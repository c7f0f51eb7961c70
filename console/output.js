// Follows one process's output live: GET /processes/{pid}/output/follow over fetch
// streaming, resumed with Last-Event-ID after a drop, stdout and stderr told apart,
// the retention gap shown, and only the last MAX_LINES lines kept in the page.

import { api, ApiError, processPath } from './api.js'
import { commandLine, reasonText, signalName } from './format.js'
import { readEvents } from './sse.js'

export const MAX_LINES = 2000
const RETRY_MS = [250, 500, 1000, 2000, 4000]

export class OutputPanel {
  constructor({ panel, title, state, log, close, trimNote }) {
    this.panel = panel
    this.trimNote = trimNote
    this.pending = []
    this.scheduled = false
    this.waiters = []
    this.trimmed = 0
    this.title = title
    this.state = state
    this.log = log
    this.follow = null
    close.addEventListener('click', () => this.close())
  }

  open(proc) {
    this.close()
    this.panel.hidden = false
    const label = proc.managed?.name ?? `pid ${proc.pid}`
    this.title.textContent = `Output of ${label}: ${commandLine(proc)}`
    this.log.textContent = ''
    this.pending = []
    this.trimmed = 0
    delete this.log.dataset.trimmed
    this.trimNote.hidden = true
    this.panel.dataset.pid = String(proc.pid)
    this.follow = new Follow(proc, this)
    this.follow.run()
    this.panel.scrollIntoView({ block: 'nearest' })
  }

  close() {
    this.follow?.stop()
    this.follow = null
    this.panel.hidden = true
  }

  setState(text, state) {
    this.state.textContent = text
    this.panel.dataset.state = state
  }

  /**
   * Queues one line; `kind` is stdout, stderr, gap or end. Lines reach the page in
   * batches, once per frame: laying out the log per line would stall a fast producer.
   */
  append(kind, text) {
    this.pending.push([kind, text])
    if (this.pending.length > MAX_LINES) {
      this.trimmed += this.pending.length - MAX_LINES
      this.pending.splice(0, this.pending.length - MAX_LINES)
    }
    if (this.scheduled) return
    this.scheduled = true
    const flush = () => {
      this.scheduled = false
      this.#flush()
    }
    if (document.hidden) setTimeout(flush, 100)
    else requestAnimationFrame(flush)
  }

  /** Resolves once every queued line is in the page. */
  flushed() {
    return this.scheduled ? new Promise((resolve) => this.waiters.push(resolve)) : Promise.resolve()
  }

  #flush() {
    for (const resolve of this.waiters.splice(0)) queueMicrotask(resolve)
    const lines = this.pending.splice(0)
    if (lines.length === 0) return
    const log = this.log
    const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4
    const fragment = document.createDocumentFragment()
    for (const [kind, text] of lines) {
      const div = document.createElement('div')
      div.className = `line ${kind}`
      if (kind === 'stderr') {
        const tag = document.createElement('span')
        tag.className = 'tag'
        tag.textContent = 'err'
        div.append(tag)
      }
      div.append(text)
      fragment.append(div)
    }
    log.append(fragment)
    let extra = log.childElementCount - MAX_LINES
    this.trimmed += Math.max(0, extra)
    while (extra-- > 0) log.firstElementChild.remove()
    if (this.trimmed > 0) {
      log.dataset.trimmed = String(this.trimmed)
      this.trimNote.hidden = false
      this.trimNote.textContent = `Showing the last ${MAX_LINES} lines; ${this.trimmed} earlier lines are not kept in the page.`
    }
    if (stick) log.scrollTop = log.scrollHeight
  }
}

class Follow {
  constructor(proc, panel) {
    this.proc = proc
    this.panel = panel
    this.abort = new AbortController()
    this.lastId = null
    this.stopped = false
    this.connects = 0
  }

  stop() {
    this.stopped = true
    this.abort.abort()
  }

  async run() {
    let attempt = 0
    while (!this.stopped) {
      try {
        const headers = this.lastId === null ? {} : { 'last-event-id': this.lastId }
        this.panel.setState(this.lastId === null ? 'connecting…' : 'reconnecting…', 'connecting')
        const res = await api(`${processPath(this.proc)}/output/follow`, {
          headers,
          signal: this.abort.signal,
          raw: true,
        })
        this.panel.setState('live', 'live')
        this.panel.panel.dataset.connects = String(++this.connects)
        attempt = 0
        if (await this.#consume(res.body)) return this.#ended()
        // The stream ended without eof: the connection dropped; resume after lastId.
      } catch (err) {
        if (this.stopped) return
        if (err instanceof ApiError && err.status < 500) {
          this.panel.setState(`cannot follow: ${err.message}`, 'error')
          return
        }
      }
      if (this.stopped) return
      const wait = RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)]
      this.panel.setState(`connection lost, retrying in ${wait} ms`, 'retrying')
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }

  /** Reads events until the stream ends; true when it ended with `eof`. */
  async #consume(body) {
    for await (const ev of readEvents(body)) {
      if (this.stopped) return false
      if ('comment' in ev) {
        const dropped = /^dropped ([0-9]+)$/.exec(ev.comment)
        if (dropped) this.panel.append('gap', `… ${dropped[1]} lines dropped by the retention limit …`)
        continue
      }
      if (ev.event === 'eof') return true
      if (ev.event !== 'output') continue
      if (ev.id !== null) this.lastId = ev.id
      const data = JSON.parse(ev.data)
      this.panel.append(data.stream === 'stderr' ? 'stderr' : 'stdout', data.line ?? chunkText(data.data))
    }
    return false
  }

  async #ended() {
    let text = 'ended'
    try {
      const p = await api(processPath(this.proc), { signal: this.abort.signal })
      text = endText(p)
    } catch {
      // Gone from the table already: the end of the stream is all there is to say.
    }
    if (this.stopped) return
    this.panel.append('end', `— ${text} —`)
    await this.panel.flushed()
    if (this.stopped) return
    this.panel.setState(text, 'ended')
  }
}

// A base64 chunk (output_encoding "base64", docs/endings.md) shown as text, as lines are.
const utf8 = new TextDecoder()
function chunkText(b64) {
  const bin = atob(b64 ?? '')
  return utf8.decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))).replace(/\n$/, '')
}

export function endText(p) {
  if (p.status === 'oom_killed') return 'killed by the OOM killer (SIGKILL)'
  if (p.exit_code !== null) return `exited with code ${p.exit_code}`
  if (p.signal !== null) {
    const why = p.reason === 'killed' || p.reason === 'idle_timeout' ? `, ${reasonText(p)}` : ''
    return `killed by ${signalName(p.signal)}${p.timed_out ? ' (timed out)' : ''}${why}`
  }
  return p.managed ? `managed process ${p.managed.status}` : 'ended'
}
