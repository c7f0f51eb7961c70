// Formatting of ProcessInfo fields for display, and the argument splitter of the forms.

const SIGNALS = [
  '',
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
  'SIGSTKFLT',
  'SIGCHLD',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGWINCH',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
]

export function signalName(n) {
  return SIGNALS[n] ?? `signal ${n}`
}

/** The command line as a shell would need it typed: arguments quoted where needed. */
export function commandLine(p) {
  return [p.command, ...p.args].map(quoteArg).join(' ')
}

function quoteArg(arg) {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg
  return `'${arg.replaceAll("'", "'\\''")}'`
}

/** How the process ended, or that it runs: "running", "exit 3", "SIGKILL". */
export function statusText(p) {
  if (p.status === 'running') return 'running'
  if (p.exit_code !== null && p.exit_code !== undefined) return `exit ${p.exit_code}`
  if (p.signal !== null && p.signal !== undefined) return signalName(p.signal)
  return p.status
}

/** The `reason` of an exited process in words (docs/endings.md). */
export function reasonText(p) {
  switch (p.reason) {
    case 'exited':
      return 'exited by itself'
    case 'signaled':
      return 'ended by a signal from outside sandproc'
    case 'oom_killed':
      return 'killed by the OOM killer'
    case 'timed_out':
      return 'ended by its timeout'
    case 'idle_timeout':
      return 'ended by its idle timeout (no output for too long)'
    case 'killed': {
      const by = {
        api: 'through the API',
        client_gone: 'because its run client went away',
        shutdown: 'at server shutdown',
      }[p.killed_by]
      return `killed by sandproc ${by ?? ''}`.trimEnd()
    }
    default:
      return ''
  }
}

export function clock(ms) {
  if (ms === null || ms === undefined) return ''
  const d = new Date(ms)
  const pad = (n, w = 2) => String(n).padStart(w, '0')
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

export function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return ''
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`
  return `${Math.floor(m / 60)}h ${m % 60}m`
}

export function bytes(n) {
  if (n === null || n === undefined) return ''
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(i === 0 || v >= 100 ? 0 : 1)} ${units[i]}`
}

/** Wall time: the exit's figure, or the time since the start while running. */
export function wallMs(p, now) {
  if (p.usage) return p.usage.wall_ms
  if (!p.started_at) return null
  return (p.ended_at ?? now) - p.started_at
}

export function cpuMs(p) {
  return p.usage ? p.usage.user_cpu_ms + p.usage.system_cpu_ms : null
}

export function userText(p) {
  if (!p.user) return ''
  return p.user.uid === p.user.gid ? String(p.user.uid) : `${p.user.uid}:${p.user.gid}`
}

/** "in 3 s" for a time ahead, "" for none. */
export function untilText(ms, now) {
  if (ms === null || ms === undefined) return ''
  const left = ms - now
  return left <= 0 ? 'now' : `in ${duration(left)}`
}

/**
 * Splits an argument line as a POSIX shell would, without any expansion: whitespace
 * separates, '…' is literal, "…" and a backslash escape.
 *
 * @throws Error on an unterminated quote.
 */
export function splitArgs(text) {
  const args = []
  let cur = ''
  let has = false
  let quote = null
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quote === "'") {
      if (c === "'") quote = null
      else cur += c
    } else if (quote === '"') {
      if (c === '"') quote = null
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) cur += text[++i]
      else cur += c
    } else if (c === "'" || c === '"') {
      quote = c
      has = true
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i]
      has = true
    } else if (/\s/.test(c)) {
      if (has) args.push(cur)
      cur = ''
      has = false
    } else {
      cur += c
      has = true
    }
  }
  if (quote !== null) throw new Error(`unterminated ${quote} quote`)
  if (has) args.push(cur)
  return args
}
