// A PTY session (docs/pty.md) in xterm.js: created with POST /api/v1/pty, driven over
// the session's WebSocket with its binary frames (docs/protocol.md "The socket"), fitted
// to the window, reconnected after a dropped socket (a new connection takes it over).

import { Terminal } from '/console/vendor/xterm.mjs'
import { FitAddon } from '/console/vendor/addon-fit.mjs'
import { api, ApiError } from './api.js'
import { signalName, splitArgs } from './format.js'
import { DATA, exitCode, forget, frame, READY, recall, remember, resizeFrame } from './pty-wire.js'

const RETRY_MS = [250, 500, 1000, 2000, 4000]
const encoder = new TextEncoder()

export class TerminalView {
  constructor({ form, container, status, size, reconnect, kill }) {
    this.form = form
    this.container = container
    this.status = status
    this.size = size
    this.reconnectButton = reconnect
    this.killButton = kill
    this.term = null
    this.fit = null
    this.session = null
    this.socket = null
    /** Sockets opened so far (the page shows it as data-connects, for the tests). */
    this.connects = 0
    reconnect.addEventListener('click', () => this.#connect())
    kill.addEventListener('click', () => this.#terminate())
  }

  /** Called when the view becomes visible: xterm needs a laid-out container to measure. */
  shown() {
    const first = this.term === null
    this.#ensureTerminal()
    this.fit.fit()
    this.term.focus()
    if (first) this.#resume().catch(() => {})
  }

  /** After a reload: takes over the newest live session this tab created. */
  async #resume() {
    const remembered = Object.entries(recall())
    for (const [id, { token, pid }] of remembered.reverse()) {
      let info
      try {
        info = await api(`/pty/${encodeURIComponent(id)}`)
      } catch {
        forget(id)
        continue
      }
      if (!info.is_alive) {
        forget(id)
        continue
      }
      if (this.session !== null) return
      this.session = { id, token, pid, ended: false, attempt: 0 }
      this.killButton.hidden = false
      this.#connect()
      return
    }
  }

  #ensureTerminal() {
    if (this.term !== null) return
    this.term = new Terminal({ cursorBlink: true, convertEol: false, scrollback: 5000, fontSize: 14 })
    this.fit = new FitAddon()
    this.term.loadAddon(this.fit)
    this.term.open(this.container)
    this.term.onData((text) => this.#send(DATA, encoder.encode(text)))
    this.term.onBinary((text) =>
      this.#send(
        DATA,
        Uint8Array.from(text, (c) => c.charCodeAt(0)),
      ),
    )
    this.term.onResize(({ cols, rows }) => {
      this.#showSize()
      this.#sendResize(cols, rows)
    })
    new ResizeObserver(() => {
      if (this.container.offsetParent !== null) this.fit.fit()
    }).observe(this.container)
    this.#showSize()
  }

  /** Opens a session for the form's command; failures show in the status line. */
  async open() {
    try {
      await this.#open()
    } catch (err) {
      this.#setStatus(`Cannot open: ${err.message}`, 'error')
    }
  }

  async #open() {
    this.#ensureTerminal()
    this.fit.fit()
    const data = new FormData(this.form)
    const command = String(data.get('command')).trim()
    const args = splitArgs(String(data.get('args') ?? ''))
    this.#closeSocket()
    this.term.reset()
    this.#setStatus('Starting…', 'connecting')
    const { cols, rows } = this.term
    const created = await api('/pty', { method: 'POST', body: { command, args, rows, cols } })
    this.session = { id: created.session_id, token: created.token, pid: created.pid, ended: false, attempt: 0 }
    remember(this.session)
    this.killButton.hidden = false
    this.#connect()
  }

  #connect() {
    const s = this.session
    if (s === null) return
    this.#closeSocket()
    this.reconnectButton.hidden = true
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
    const url = `${scheme}://${location.host}/api/v1/pty/${encodeURIComponent(s.id)}/ws?token=${encodeURIComponent(s.token)}`
    const ws = new WebSocket(url)
    ws.binaryType = 'arraybuffer'
    this.socket = ws
    this.#setStatus(s.attempt === 0 ? 'Connecting…' : 'Reconnecting…', 'connecting')
    ws.addEventListener('open', () => {
      s.attempt = 0
      this.connects += 1
      this.status.dataset.connects = String(this.connects)
      // The server replays the session's scrollback to every client that attaches
      // (docs/pty.md): start from a clean screen so that a reconnect redraws, not repeats.
      this.term.reset()
      // Size first, so the program draws for the right window, then start the output.
      this.#sendResize(this.term.cols, this.term.rows)
      this.#send(READY)
      this.#setStatus(`Connected to pid ${s.pid}`, 'connected')
      this.term.focus()
    })
    ws.addEventListener('message', (e) => this.#onFrame(new Uint8Array(e.data)))
    ws.addEventListener('close', (e) => this.#onClose(ws, e))
  }

  #onFrame(bytes) {
    if (bytes.length === 0) return
    if (bytes[0] === DATA) {
      this.term.write(bytes.subarray(1))
      return
    }
    const code = exitCode(bytes)
    if (code !== null) {
      this.session.ended = true
      forget(this.session.id)
      this.killButton.hidden = true
      const how = code > 128 ? `killed by ${signalName(code - 128)} (${code})` : `exited with code ${code}`
      this.#setStatus(`Session ${how}`, 'exited')
      this.status.dataset.exitCode = String(code)
    }
  }

  async #onClose(ws, e) {
    if (ws !== this.socket) return
    this.socket = null
    const s = this.session
    if (s === null || s.ended) return
    if (e.code === 1008 && e.reason === 'replaced') {
      this.#setStatus('Taken over by another window', 'replaced')
      this.reconnectButton.hidden = false
      return
    }
    if (e.code === 1000 && e.reason === 'session terminated') {
      s.ended = true
      forget(s.id)
      this.killButton.hidden = true
      this.#setStatus('Session terminated', 'exited')
      return
    }
    // A dropped socket does not end the session: look it up, then take it over again.
    const wait = RETRY_MS[Math.min(s.attempt++, RETRY_MS.length - 1)]
    this.#setStatus(`Connection lost, reconnecting in ${wait} ms`, 'retrying')
    await new Promise((resolve) => setTimeout(resolve, wait))
    if (this.session !== s) return
    try {
      await api(`/pty/${encodeURIComponent(s.id)}`)
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        forget(s.id)
        this.#setStatus('Session is gone', 'gone')
        return
      }
    }
    if (this.session === s && this.socket === null) this.#connect()
  }

  async #terminate() {
    const s = this.session
    if (s === null) return
    try {
      await api(`/pty/${encodeURIComponent(s.id)}`, { method: 'DELETE' })
    } catch (err) {
      this.#setStatus(`Cannot end the session: ${err.message}`, 'error')
    }
  }

  #send(op, payload) {
    this.#sendFrame(frame(op, payload))
  }

  #sendResize(cols, rows) {
    this.#sendFrame(resizeFrame(cols, rows))
  }

  #sendFrame(bytes) {
    const ws = this.socket
    if (ws !== null && ws.readyState === WebSocket.OPEN) ws.send(bytes)
  }

  #closeSocket() {
    const ws = this.socket
    this.socket = null
    ws?.close(1000, 'client closed')
  }

  #showSize() {
    this.size.textContent = `${this.term.cols}×${this.term.rows}`
    this.size.dataset.cols = String(this.term.cols)
    this.size.dataset.rows = String(this.term.rows)
  }

  #setStatus(text, state) {
    this.status.textContent = text
    this.status.dataset.state = state
    if (state !== 'exited') delete this.status.dataset.exitCode
  }
}
