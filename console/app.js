// The console's entry: the token gate, the two views, the polling of the process list
// and the start form. The table, the output panel and the terminal live in their modules.

import { api, processPath, takeTokenFromFragment, token, UNAUTHORIZED } from './api.js'
import { splitArgs } from './format.js'
import { OutputPanel } from './output.js'
import { ProcessTable } from './table.js'

/** The API has no change feed for the list, so the page polls it (while visible). */
const POLL_MS = 1000

const $ = (id) => document.getElementById(id)
let pollTimer = null
let terminal = null

const table = new ProcessTable({
  table: $('proc-table'),
  body: $('proc-rows'),
  empty: $('proc-empty'),
  count: $('proc-count'),
  filter: $('filter'),
  actions: {
    signal: (p, n) =>
      act(`Signal ${n} sent to ${p.pid}`, () =>
        api(`${processPath(p)}/signal`, { method: 'POST', body: { signal: n } }),
      ),
    kill: (p) => act(`Killed ${p.managed?.name ?? p.pid}`, () => api(processPath(p), { method: 'DELETE' })),
    restart: (p) =>
      act(`Restarted ${p.managed?.name ?? p.pid}`, () => api(`${processPath(p)}/restart`, { method: 'POST' })),
    output: (p) => output.open(p),
  },
})

const output = new OutputPanel({
  panel: $('output-panel'),
  title: $('output-title'),
  state: $('output-state'),
  log: $('output'),
  close: $('output-close'),
  trimNote: $('output-trimmed'),
})

async function act(done, call) {
  const result = $('action-result')
  result.classList.remove('error')
  try {
    await call()
    result.textContent = done
  } catch (err) {
    result.textContent = err.message
    result.classList.add('error')
  }
  await refresh()
}

async function refresh() {
  try {
    const { processes } = await api('/processes')
    table.update(processes)
    $('poll-error').textContent = ''
  } catch (err) {
    if (err.status !== 401) $('poll-error').textContent = `Cannot list processes: ${err.message}`
  }
}

function startPolling() {
  stopPolling()
  const tick = async () => {
    await refresh()
    if (token.get() !== null && !document.hidden) pollTimer = setTimeout(tick, POLL_MS)
  }
  tick()
}

function stopPolling() {
  clearTimeout(pollTimer)
  pollTimer = null
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && token.get() !== null && !$('processes-view').hidden) startPolling()
})

function startRequest(form) {
  const data = new FormData(form)
  const text = (name) => String(data.get(name) ?? '').trim()
  const body = { command: text('command'), args: splitArgs(String(data.get('args') ?? '')) }
  if (text('user') !== '') body.user = text('user')
  if (text('memory_limit') !== '')
    body.memory_limit = /^[0-9]+$/.test(text('memory_limit')) ? Number(text('memory_limit')) : text('memory_limit')
  if (text('name') !== '') body.name = text('name')
  if (text('restart') !== '') {
    body.restart = { policy: text('restart') }
    if (text('initial_backoff_ms') !== '') body.restart.initial_backoff_ms = Number(text('initial_backoff_ms'))
    if (text('max_restarts') !== '') body.restart.max_restarts = Number(text('max_restarts'))
  }
  return body
}

$('start-form').addEventListener('submit', async (e) => {
  e.preventDefault()
  const result = $('start-result')
  result.classList.remove('error')
  try {
    const info = await api('/processes', { method: 'POST', body: startRequest(e.target) })
    result.textContent = `Started pid ${info.pid}`
    await refresh()
    output.open(info)
  } catch (err) {
    result.textContent = err.message
    result.classList.add('error')
  }
})

function showView(name) {
  for (const b of document.querySelectorAll('#views button'))
    b.setAttribute('aria-pressed', String(b.dataset.view === name))
  $('processes-view').hidden = name !== 'processes'
  $('terminal-view').hidden = name !== 'terminal'
  if (name === 'processes') startPolling()
  else stopPolling()
  if (name === 'terminal') openTerminal()
}

// xterm.js is loaded only when the terminal is first wanted.
async function loadTerminal() {
  if (terminal === null) {
    terminal = import('./terminal.js').then(
      ({ TerminalView }) =>
        new TerminalView({
          form: $('pty-form'),
          container: $('term'),
          status: $('term-status'),
          size: $('term-size'),
          reconnect: $('pty-reconnect'),
          kill: $('pty-kill'),
        }),
    )
  }
  return terminal
}

async function openTerminal() {
  ;(await loadTerminal()).shown()
}

// Handled here, not by the lazily loaded module: a submit before it has loaded must not
// fall through to the browser's own form submission.
$('pty-form').addEventListener('submit', async (e) => {
  e.preventDefault()
  await (await loadTerminal()).open()
})

for (const b of document.querySelectorAll('#views button')) b.addEventListener('click', () => showView(b.dataset.view))

function showLogin(message) {
  stopPolling()
  output.close()
  $('views').hidden = true
  $('forget-token').hidden = true
  $('processes-view').hidden = true
  $('terminal-view').hidden = true
  $('server-info').textContent = ''
  $('login').hidden = false
  $('login-error').textContent = message ?? ''
  $('token-input').focus()
}

// OOM detection is why sandproc exists: when it is off, say so above everything, with
// the server's reason and the fix for this deployment (docs/deploying.md).
function showOomBanner(caps) {
  const banner = $('oom-banner')
  banner.hidden = caps === undefined || caps.oomDetection
  if (banner.hidden) return
  const fix = caps.fix === undefined ? '' : ` To turn it on: ${caps.fix}.`
  banner.textContent = `OOM detection is off: an OOM kill shows as a plain signal 9. ${caps.reason ?? ''}.${fix}`
}

async function connect() {
  try {
    const info = await api('/info')
    const since = new Date(Date.now() - info.uptime_secs * 1000).toLocaleString()
    $('server-info').textContent = `sandproc ${info.version} · up since ${since}`
    showOomBanner(info.capabilities)
  } catch (err) {
    if (err.status !== 401) showLogin(`Cannot reach the server: ${err.message}`)
    return
  }
  $('login').hidden = true
  $('views').hidden = false
  $('forget-token').hidden = false
  showView('processes')
}

window.addEventListener(UNAUTHORIZED, () => {
  token.clear()
  showLogin('The server refused this token.')
})

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault()
  token.set($('token-input').value.trim())
  $('token-input').value = ''
  connect()
})

$('forget-token').addEventListener('click', () => {
  token.clear()
  showLogin()
})

// A link pasted into a tab that is already open changes only the fragment: that is a
// hashchange, not a load, so the token is taken here as well. The same token again
// leaves an open console as it is.
window.addEventListener('hashchange', () => {
  const before = token.get()
  if (takeTokenFromFragment() && (token.get() !== before || !$('login').hidden)) connect()
})

takeTokenFromFragment()
if (token.get() === null) showLogin()
else connect()
