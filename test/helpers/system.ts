/** What the kernel says about processes and fds, read from /proc; and account data from getent. */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setImmediate as tick } from 'node:timers/promises'

/** The fields of /proc/<pid>/stat after the command name. */
export interface Stat {
  pid: number
  state: string
  ppid: number
  pgrp: number
  session: number
}

export function parseStat(text: string): Stat {
  const pid = Number(text.slice(0, text.indexOf(' ')))
  // The command name is in parentheses and may itself contain spaces or ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
  return { pid, state: rest[0], ppid: Number(rest[1]), pgrp: Number(rest[2]), session: Number(rest[3]) }
}

/** /proc/<pid>/stat, or null once the pid is gone. */
export function stat(pid: number): Stat | null {
  try {
    return parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return null
  }
}

/** True when the process no longer runs: reaped, zombie or dead. */
export function isDead(pid: number): boolean {
  const s = stat(pid)
  return s === null || s.state === 'Z' || s.state === 'X'
}

/**
 * Waits until a process that has already been sent SIGKILL is dead. The kernel closes
 * a dying process's files before it turns it into a zombie, so "our pipe hit EOF" can
 * precede "state Z" by a moment; this bridges that moment by yielding to the loop, and
 * never returns for a process that stays alive (the test then times out).
 */
export async function untilDead(pid: number): Promise<void> {
  while (!isDead(pid)) await tick()
}

/** This process's open fds. */
export function openFds(): string[] {
  return fs.readdirSync('/proc/self/fd')
}

/** How many of this process's open fds are pidfds. */
export function pidfds(): number {
  return openFds().filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[pidfd]'
    } catch {
      return false
    }
  }).length
}

/** Children of this process, in any state. */
export function children(): Stat[] {
  const out: Stat[] = []
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const s = stat(Number(name))
    if (s !== null && s.ppid === process.pid) out.push(s)
  }
  return out
}

/**
 * Waits until this process has no child at all (each one exited and was reaped), by
 * yielding to the loop; never returns while a child lives (the test then times out).
 */
export async function untilNoChildren(): Promise<void> {
  while (children().length > 0) await tick()
}

/** Children of this process that are zombies (exited, never reaped). */
export function zombieChildren(): number[] {
  return children()
    .filter((s) => s.state === 'Z')
    .map((s) => s.pid)
}

/** Signal numbers in a /proc/<pid>/status mask line (SigIgn, SigBlk, ...). */
export function statusMask(status: string, key: string): bigint {
  const line = status.split('\n').find((l) => l.startsWith(`${key}:`))
  if (line === undefined) throw new Error(`no ${key} in status`)
  return BigInt(`0x${line.slice(key.length + 1).trim()}`)
}

export interface Account {
  name: string
  uid: number
  gid: number
  /** Sorted: the primary group plus those `getent initgroups` lists, as initgroups sets them. */
  groups: number[]
}

function getent(...args: string[]): string | null {
  try {
    return execFileSync('getent', args, { encoding: 'utf8' })
  } catch {
    return null // exit 2: no such entry
  }
}

/** The account with this name or uid according to NSS, or null. */
export function account(nameOrUid: string | number): Account | null {
  const pw = getent('passwd', String(nameOrUid))
  if (pw === null) return null
  const [name, , uid, gid] = pw.trim().split('\n')[0].split(':')
  const extra = (getent('initgroups', name) ?? '').trim().split(/\s+/).slice(1).map(Number)
  const groups = [...new Set([Number(gid), ...extra])].sort((a, b) => a - b)
  return { name, uid: Number(uid), gid: Number(gid), groups }
}

/** Every account NSS lists. */
export function accounts(): Account[] {
  const all = getent('passwd') ?? ''
  return all
    .trim()
    .split('\n')
    .map((l) => account(l.split(':')[0]))
    .filter((a): a is Account => a !== null)
}

/** A uid (>= start) with no account and no group of that number. */
export function unusedId(start = 4242): number {
  for (let id = start; ; id++)
    if (getent('passwd', String(id)) === null && getent('group', String(id)) === null) return id
}

/** A fresh temporary directory (removed by `rmTemp`). */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sandproc-test-'))
}

export function rmTemp(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true })
}

/** Writes an executable shell script. */
export function script(file: string, body: string, mode = 0o755): string {
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode })
  fs.chmodSync(file, mode)
  return file
}
