/**
 * The only module that loads or touches the addon. Everything else receives a
 * {@link NativeBinding}, so pure logic can be tested with a stand-in while every
 * behaviour that touches the kernel is tested through this real one.
 */
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** What `spawn` needs, resolved by the TypeScript layer before the clone. */
export interface NativeSpawnOptions {
  /** The command as the caller gave it, for error messages. */
  command: string
  /** Executable paths to try in order (PATH search happens in the child, as execvp). */
  candidates: string[]
  argv: string[]
  /** "KEY=value" entries. */
  envp: string[]
  /** The same entries as one string, each ending in NUL; when given, `envp` is ignored. */
  envBlock?: string
  cwd?: string
  /** Credentials: all three together, or none to keep the supervisor's. */
  uid?: number
  gid?: number
  groups?: number[]
  /** 0: /dev/null, 1: a pipe; for stdin, stdout, stderr; 2 for stderr: stdout's pipe. */
  stdio: [0 | 1, 0 | 1, 0 | 1 | 2]
  /**
   * The cgroups the child joins before execve, in order (at most 4: one per v1
   * hierarchy). With `cgroupDirFd`, the first is the cgroup clone3 places it in.
   */
  cgroupJoins?: NativeCgroupJoin[]
  /** v2 cgroup directory fd for clone3(CLONE_INTO_CGROUP): the cgroup of `cgroupJoins[0]`. */
  cgroupDirFd?: number
  /** F_SETPIPE_SZ for stdout and stderr; 0 keeps the kernel default. */
  pipeSize?: number
  /**
   * A pty slave from `openPty`: the child's controlling terminal and its fds 0-2
   * (`stdio` is then ignored). The caller closes it once the spawn has returned.
   */
  ttyFd?: number
  /**
   * The cgroup joins take no global kernel lock (see src/cgroup/join.ts): a spawn with
   * nothing else in flight may then run on the JS thread instead of a spawner thread.
   */
  inline?: boolean
  /**
   * Always on the JS thread, never a spawner thread: the child's parent-death signal is
   * then tied to the thread that survives a live upgrade's execve (docs/upgrade.md).
   */
  jsThread?: boolean
  /**
   * Files (a cgroup's counters) the addon reads right after the reap, before the exit
   * callback: their texts are its last argument, in this order.
   */
  exitReads?: readonly string[]
}

/**
 * One cgroup to join: the child writes `"0"` to `fd`, and to `fallbackFd` only if that
 * fails. v1: `tasks` (moves the calling thread: no global lock), then `cgroup.procs`;
 * v2: `cgroup.procs` alone. Both opened for writing before the spawn; a join that fails
 * is a spawn error with `syscall: 'cgroup'` and `path`.
 */
export interface NativeCgroupJoin {
  fd: number
  fallbackFd?: number
  /** The cgroup's directory, for the error's `path`. */
  path?: string
}

/** The native side of one running child. */
export interface NativeChild {
  /** Signal the main process through its pidfd; false once it is reaped. */
  signal(sig: number): boolean
  /** Signal the process group; false once the leader is reaped. */
  killGroup(sig: number): boolean
  ref(): void
  unref(): void
}

export interface NativeSpawned {
  pid: number
  /** Parent ends of the stdin, stdout, stderr pipes; -1 where the child has /dev/null. */
  fds: [number, number, number]
  /** Whether clone3 placed the child into its cgroup atomically. */
  clone3: boolean
  child: NativeChild
}

/** The spawn's outcome: the child, or an Error with Node's SystemError fields. */
export type NativeSpawnCallback = (err: (Error & { code: string }) | null, spawned?: NativeSpawned) => void

/**
 * Called once, after the group was killed and the main process reaped. `texts`: the
 * contents of the spawn's `exitReads` (null for a file that could not be read).
 */
export type NativeExitCallback = (
  code: number | null,
  signal: number | null,
  userUs: number,
  sysUs: number,
  texts?: readonly (string | null)[],
) => void

export interface NativeAccount {
  name: string
  uid: number
  gid: number
  /** Primary group plus every group listing the account (getgrouplist). */
  groups: number[]
}

/** Reads one pipe on the loop: a Uint8Array per read (up to 64 KiB), then `onEnd(errno)` (0 at EOF). */
export interface NativePipeReader {
  pause(): void
  resume(): void
  ref(): void
  unref(): void
  /** Stops reading and closes the fd; `onEnd` is not called. */
  close(): void
}

/** A pseudo-terminal pair from `openPty`, both fds close-on-exec. */
export interface NativePty {
  master: number
  slave: number
  /** `/dev/pts/N`. */
  path: string
}

/** Writes to a pty master without blocking: what the terminal cannot take now is queued. */
export interface NativePtyWriter {
  /** Returns the bytes still queued; 0 once the terminal is gone (input is dropped). */
  write(chunk: Uint8Array): number
  close(): void
}

export interface NativeBinding {
  /**
   * Takes ownership of `fd` (a pipe's read end, or with `terminal` a pty master, whose
   * EIO is its EOF).
   */
  PipeReader: new (
    fd: number,
    onData: (chunk: Uint8Array) => void,
    onEnd: (errno: number) => void,
    terminal?: boolean,
  ) => NativePipeReader
  /**
   * Opens a pty pair set up for a session: window size, IUTF8, the slave owned by `uid`
   * and the `tty` group with mode 0620. Throws a SystemError.
   */
  openPty(opts: { rows: number; cols: number; uid: number; gid: number }): NativePty
  /** TIOCSWINSZ on the master; the kernel sends SIGWINCH to the foreground group. */
  resizePty(master: number, rows: number, cols: number): void
  /**
   * Writes to its own dup of `master`. `onDrain` follows a write that had to wait, once
   * nothing is queued any more (written, or dropped because the terminal hung up).
   */
  PtyWriter: new (master: number, onDrain?: () => void) => NativePtyWriter
  /**
   * Queues the spawn on the addon's spawner thread (the JS thread never waits for a
   * clone or a cgroup join); `onSpawned` follows on the JS thread.
   */
  spawn(opts: NativeSpawnOptions, onSpawned: NativeSpawnCallback, onExit: NativeExitCallback): void
  /** By name or uid; null when no such account exists. */
  lookupUser(nameOrUid: string | number): NativeAccount | null
  /**
   * Live upgrade (docs/upgrade.md): writes `state` to a memfd, clears FD_CLOEXEC on
   * `keepFds`, and execs `file` with `envp` plus `SANDPROC_HANDOVER=<memfd>`. Returns
   * only by throwing a SystemError, every fd's flags as they were.
   */
  handoverExec(file: string, argv: string[], envp: string[], keepFds: number[], state: string): never
  /** Watches an inherited pidfd as a spawned child's is watched (the fd is made close-on-exec). */
  adoptChild(pid: number, pidfd: number, exitReads: readonly string[], onExit: NativeExitCallback): NativeChild
  /** Sets FD_CLOEXEC on an inherited fd. */
  setCloexec(fd: number): void
  /** The pidfd a child object watches; -1 once it is reaped. */
  childPidfd(child: NativeChild): number
  /**
   * Forks the watchdog (see src/core/watchdog.ts); `fd` is the non-blocking write end of
   * its pipe. With `slots` > 0, `slots` is a table of that many int32 process groups the
   * watchdog shares (a memfd, `shm`; -1 without).
   */
  startWatchdog(
    cgroupDirs: string | string[],
    onExit: NativeExitCallback,
    slots?: number,
  ): { pid: number; fd: number; child: NativeChild; shm: number; slots?: ArrayBuffer }
  /** Maps the slot table of an inherited watchdog's `shm` (see startWatchdog). */
  mapWatchdogSlots(shm: number): ArrayBuffer
}

const require = createRequire(import.meta.url)
// src/native.ts and dist/native.js both sit one level below the package root.
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const load = require('node-gyp-build') as (dir: string) => NativeBinding

/** The real addon: a prebuild from prebuilds/ or the local build/ (node-gyp-build decides). */
export const binding: NativeBinding = load(root)
