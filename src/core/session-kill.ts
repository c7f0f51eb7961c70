/**
 * The tree of a session without cgroups: every process of its kernel session
 * (docs/protocol.md "The terminal"). An interactive shell gives each job a process
 * group of its own, so killing the leader's group is not enough; a `setsid`'d
 * descendant escapes even this, which is why cgroups are the normal case.
 */
import fs from 'node:fs'

/** SIGKILL to every process whose session id is `sid`. */
export function killSession(sid: number): void {
  let entries: string[]
  try {
    entries = fs.readdirSync('/proc')
  } catch {
    return
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue
    let stat: string
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8')
    } catch {
      continue
    }
    // Fields after the command (which may hold spaces and parentheses): state ppid pgrp session.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(fields[3]) !== sid) continue
    try {
      process.kill(Number(name), 'SIGKILL')
    } catch {
      // Gone already.
    }
  }
}
