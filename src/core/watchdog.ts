/**
 * The supervisor's watchdog (native/watchdog.cc): a small forked process that, when the
 * supervisor closes or dies, kills whatever its processes left behind. Without cgroups it
 * is told each process group as it starts and ends, through a table of slots it shares
 * with the supervisor (no syscall per spawn, and it is not woken), or through its pipe
 * when the table is full; with cgroups it sweeps the supervisor's cgroup directory and
 * needs no messages.
 */
import fs from 'node:fs'

import type { NativeBinding, NativeChild } from '../native.js'

/** Slots of the shared table: process groups watched at once without a pipe message. */
export const WATCHDOG_SLOTS = 1 << 16

/** What a live upgrade hands over of a watchdog (docs/upgrade.md). */
export interface WatchdogHandover {
  pid: number
  fd: number
  pidfd: number
  trackGroups: boolean
  /** The memfd of its slot table; absent from an old program that had none. */
  shm?: number
}

/** The shared table's slots, and where each watched group sits in it. */
class GroupSlots {
  readonly #at: Int32Array
  /** Slots of each group: a pid freed by a reap may be spawned again before its group is forgotten. */
  readonly #of = new Map<number, number[]>()
  readonly #free: number[] = []
  #top = 0

  /** Over a table that may already hold groups (an inherited watchdog's). */
  constructor(buf: ArrayBuffer) {
    this.#at = new Int32Array(buf)
    for (let i = 0; i < this.#at.length; i++) {
      if (this.#at[i] === 0) continue
      this.#slotsOf(this.#at[i]).push(i)
      this.#top = i + 1
    }
    for (let i = this.#top - 1; i >= 0; i--) if (this.#at[i] === 0) this.#free.push(i)
  }

  /** False when the table is full. */
  add(pgid: number): boolean {
    const i = this.#free.pop() ?? (this.#top < this.#at.length ? this.#top++ : -1)
    if (i < 0) return false
    this.#at[i] = pgid
    this.#slotsOf(pgid).push(i)
    return true
  }

  /** False when `pgid` has no slot (it went through the pipe). */
  remove(pgid: number): boolean {
    const slots = this.#of.get(pgid)
    const i = slots?.pop()
    if (i === undefined) return false
    if (slots!.length === 0) this.#of.delete(pgid)
    this.#at[i] = 0
    this.#free.push(i)
    return true
  }

  #slotsOf(pgid: number): number[] {
    let slots = this.#of.get(pgid)
    if (slots === undefined) this.#of.set(pgid, (slots = []))
    return slots
  }
}

export class Watchdog {
  readonly pid: number
  #fd: number
  readonly #trackGroups: boolean
  readonly #rec = Buffer.alloc(4)
  readonly #child: NativeChild
  readonly #exited: Promise<void>
  readonly #shm: number
  readonly #slots: GroupSlots | null

  private constructor(
    h: { pid: number; fd: number; trackGroups: boolean; shm: number; slots?: ArrayBuffer },
    child: NativeChild,
    exited: Promise<void>,
  ) {
    this.pid = h.pid
    this.#fd = h.fd
    this.#trackGroups = h.trackGroups
    this.#shm = h.shm
    this.#slots = h.slots === undefined ? null : new GroupSlots(h.slots)
    this.#child = child
    this.#exited = exited
  }

  /**
   * Starts one; null if that fails (the supervisor then runs without it).
   * `cgroupDirs`: the per-supervisor cgroup directories, memory's first; empty without
   * cgroups, and then it gets a table of `slots` groups.
   */
  static start(native: NativeBinding, cgroupDirs: string[], slots = WATCHDOG_SLOTS): Watchdog | null {
    try {
      let reaped!: () => void
      const exited = new Promise<void>((resolve) => (reaped = resolve))
      const trackGroups = cgroupDirs.length === 0
      const w = native.startWatchdog(cgroupDirs, () => reaped(), trackGroups ? slots : 0)
      // It must never keep the event loop alive by itself.
      w.child.unref()
      return new Watchdog({ ...w, trackGroups }, w.child, exited)
    } catch {
      return null
    }
  }

  /**
   * What a live upgrade hands over (docs/upgrade.md): the old watchdog keeps guarding the
   * old server's processes, and ends once they have all ended.
   */
  handover(native: NativeBinding): WatchdogHandover | null {
    const pidfd = native.childPidfd(this.#child)
    if (this.#fd < 0 || pidfd < 0) return null
    const h: WatchdogHandover = { pid: this.pid, fd: this.#fd, pidfd, trackGroups: this.#trackGroups }
    if (this.#shm >= 0) h.shm = this.#shm
    return h
  }

  /** The old server's watchdog, inherited (see {@link handover}). */
  static adopt(native: NativeBinding, h: WatchdogHandover): Watchdog {
    let reaped!: () => void
    const exited = new Promise<void>((resolve) => (reaped = resolve))
    const child = native.adoptChild(h.pid, h.pidfd, [], () => reaped())
    child.unref()
    // Inherited without FD_CLOEXEC: no program started from here may hold them open.
    native.setCloexec(h.fd)
    const shm = h.shm ?? -1
    if (shm >= 0) native.setCloexec(shm)
    const slots = shm >= 0 ? native.mapWatchdogSlots(shm) : undefined
    return new Watchdog({ ...h, shm, slots }, child, exited)
  }

  /** A process group to kill if the supervisor dies (only without cgroups). */
  watch(pgid: number): void {
    if (this.#trackGroups && this.#slots?.add(pgid) !== true) this.#send(pgid)
  }

  /** The group's leader was reaped and the group killed: forget it. */
  forget(pgid: number): void {
    if (this.#trackGroups && this.#slots?.remove(pgid) !== true) this.#send(-pgid)
  }

  /** Lets the watchdog finish: it sweeps once more (nothing should be left) and exits; resolves once it is reaped. */
  close(): Promise<void> {
    if (this.#fd >= 0) {
      // Until it is reaped, it is a child of ours that someone must wait for.
      this.#child.ref()
      fs.closeSync(this.#fd)
      this.#fd = -1
      if (this.#shm >= 0) fs.closeSync(this.#shm)
    }
    return this.#exited
  }

  #send(rec: number): void {
    if (!this.#trackGroups || this.#fd < 0) return
    this.#rec.writeInt32LE(rec)
    try {
      fs.writeSync(this.#fd, this.#rec)
    } catch {
      // EAGAIN: the watchdog is behind. Dropping one record only weakens the crash
      // cleanup of one group; blocking the supervisor would be worse.
    }
  }
}
