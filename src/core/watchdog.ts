/**
 * The supervisor's watchdog (native/watchdog.cc): a small forked process that, when the
 * supervisor closes or dies, kills whatever its processes left behind. Without cgroups it
 * is told each process group as it starts and ends; with cgroups it sweeps the
 * supervisor's cgroup directory and needs no messages.
 */
import fs from 'node:fs'

import type { NativeBinding, NativeChild } from '../native.js'

export class Watchdog {
  readonly pid: number
  #fd: number
  readonly #trackGroups: boolean
  readonly #rec = Buffer.alloc(4)
  readonly #child: NativeChild
  readonly #exited: Promise<void>

  private constructor(pid: number, fd: number, trackGroups: boolean, child: NativeChild, exited: Promise<void>) {
    this.pid = pid
    this.#fd = fd
    this.#trackGroups = trackGroups
    this.#child = child
    this.#exited = exited
  }

  /** Starts one; null if that fails (the supervisor then runs without it). */
  /** `cgroupDirs`: the per-supervisor cgroup directories, memory's first; empty without cgroups. */
  static start(native: NativeBinding, cgroupDirs: string[]): Watchdog | null {
    try {
      let reaped!: () => void
      const exited = new Promise<void>((resolve) => (reaped = resolve))
      const { pid, fd, child } = native.startWatchdog(cgroupDirs, () => reaped())
      // It must never keep the event loop alive by itself.
      child.unref()
      return new Watchdog(pid, fd, cgroupDirs.length === 0, child, exited)
    } catch {
      return null
    }
  }

  /**
   * What a live upgrade hands over (docs/upgrade.md): the old watchdog keeps guarding the
   * old server's processes, and ends once they have all ended.
   */
  handover(native: NativeBinding): { pid: number; fd: number; pidfd: number; trackGroups: boolean } | null {
    const pidfd = native.childPidfd(this.#child)
    if (this.#fd < 0 || pidfd < 0) return null
    return { pid: this.pid, fd: this.#fd, pidfd, trackGroups: this.#trackGroups }
  }

  /** The old server's watchdog, inherited (see {@link handover}). */
  static adopt(native: NativeBinding, h: { pid: number; fd: number; pidfd: number; trackGroups: boolean }): Watchdog {
    let reaped!: () => void
    const exited = new Promise<void>((resolve) => (reaped = resolve))
    const child = native.adoptChild(h.pid, h.pidfd, [], () => reaped())
    child.unref()
    // Inherited without FD_CLOEXEC: no program started from here may hold it open.
    native.setCloexec(h.fd)
    return new Watchdog(h.pid, h.fd, h.trackGroups, child, exited)
  }

  /** A process group to kill if the supervisor dies (only without cgroups). */
  watch(pgid: number): void {
    this.#send(pgid)
  }

  /** The group's leader was reaped and the group killed: forget it. */
  forget(pgid: number): void {
    this.#send(-pgid)
  }

  /** Lets the watchdog finish: it sweeps once more (nothing should be left) and exits; resolves once it is reaped. */
  close(): Promise<void> {
    if (this.#fd >= 0) {
      // Until it is reaped, it is a child of ours that someone must wait for.
      this.#child.ref()
      fs.closeSync(this.#fd)
      this.#fd = -1
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
