/**
 * A supervisor in a process of its own, for what the test process cannot arrange
 * itself. Run as `node --import tsx child-supervisor.ts <mode>`:
 *
 * - `fds`: reports which of its own fds above 2 are not close-on-exec (inherited from
 *   the test, which passes some), then the fds a `cat` it started holds, as JSON.
 * - `orphan`: starts `sleep 100`, prints its pid and waits to be killed: the sleep must
 *   die with it (parent-death signal).
 * - `frozen`: starts a shell with a `sleep` in the background, freezes the tree, prints
 *   both pids as JSON and waits to be killed: its watchdog must kill and thaw the tree.
 */
import fs from 'node:fs'

import { Supervisor } from '../../src/supervisor.js'
import { lineMatching } from './events.js'

const O_CLOEXEC = 0o2000000

function inheritedFds(): number[] {
  const out: number[] = []
  for (const name of fs.readdirSync('/proc/self/fd')) {
    const fd = Number(name)
    if (fd <= 2) continue
    try {
      const flags = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))
      if (flags !== null && (parseInt(flags[1], 8) & O_CLOEXEC) === 0) out.push(fd)
    } catch {
      // readdir's own directory fd, closed again by now
    }
  }
  return out
}

const sup = new Supervisor()
const mode = process.argv[2]

if (mode === 'fds') {
  const inherited = inheritedFds()
  const cat = sup.start({ command: 'cat', stdin_mode: 'pipe' })
  await cat.write('ready\n')
  // cat echoed a line: it is past its start-up and in its read loop.
  await lineMatching(cat, (l) => l === 'ready')
  const childFds = fs.readdirSync(`/proc/${cat.pid}/fd`)
  cat.closeStdin()
  await cat.exited
  await sup.close()
  process.stdout.write(`${JSON.stringify({ inherited, childFds })}\n`)
} else if (mode === 'orphan') {
  const sleep = sup.start({ command: 'sleep', args: ['100'] })
  await sleep.started
  process.stdout.write(`${sleep.pid}\n`)
  // Keep running until the test kills this process.
  setInterval(() => undefined, 1 << 30)
} else if (mode === 'frozen') {
  const sh = sup.start({ command: 'sh', args: ['-c', 'sleep 1000 & echo $!; wait'] })
  const line = new Promise<number>((resolve) => sh.once('output', (ev) => resolve(Number(ev.line))))
  await sh.started
  const grandchild = await line
  await sh.freeze()
  process.stdout.write(`${JSON.stringify({ pids: [sh.pid, grandchild] })}\n`)
  setInterval(() => undefined, 1 << 30)
} else {
  process.stderr.write(`unknown mode ${String(mode)}\n`)
  process.exit(2)
}
