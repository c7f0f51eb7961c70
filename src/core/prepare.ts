/**
 * Everything a child needs, resolved before the clone (credentials, PATH candidates,
 * environment, its cgroups), and the spawn through the addon: the one path that run,
 * start and PTY sessions share (launch.ts).
 */
import os from 'node:os'
import path from 'node:path'

import { lockFreeJoin, type CgroupCapabilities, type CgroupManager } from '../cgroup/index.js'
import { coded, type CodedError } from '../errors.js'
import type { NativeBinding, NativeExitCallback } from '../native.js'
import type { Launched, SpawnExtra } from './launch.js'
import { envp, type Settings } from './options.js'
import { resolveUser } from './user.js'
import type { Normalized } from './validate.js'

// What execvp uses when PATH is unset (confstr(_CS_PATH) on glibc).
const DEFAULT_PATH = '/bin:/usr/bin'

/** Executable paths to try: the command itself if it has a `/`, else one per PATH entry. */
export function pathCandidates(command: string, pathVar: string | undefined): string[] {
  if (command.includes('/')) return [command]
  return (pathVar ?? DEFAULT_PATH).split(':').map((dir) => `${dir === '' ? '.' : dir.replace(/\/+$/, '')}/${command}`)
}

/**
 * The environment as one string, each entry NUL-terminated: the addon converts one
 * string instead of one per variable (35 variables cost about 40 µs a spawn in the
 * bench's conditions). Null when an entry holds a NUL itself (possible only in the
 * supervisor's own `env`): the array keeps C's meaning of it, the end of the string.
 */
function envBlock(entries: readonly string[]): string | null {
  let block = ''
  for (const e of entries) {
    if (e.includes('\0')) return null
    block += `${e}\0`
  }
  return block
}

export class ChildSpawner {
  private readonly baseEnvp: string[]
  private readonly baseEnvBlock: string | null
  /** Lone spawns may run on the JS thread: no cgroup join here can wait on a global lock. */
  private readonly inline: boolean

  constructor(
    private readonly s: Settings,
    private readonly binding: NativeBinding,
    private readonly cgroups: CgroupManager | null,
    private readonly capabilities: CgroupCapabilities,
  ) {
    this.baseEnvp = envp(s.env)
    this.baseEnvBlock = envBlock(this.baseEnvp)
    this.inline = lockFreeJoin(capabilities.cgroup, os.release())
  }

  /** Throws when the preparation fails (an unknown user, a cgroup write, `extra` itself). */
  spawn(
    req: Normalized,
    extra: SpawnExtra | undefined,
    onSpawned: (err: CodedError | null, launched?: Launched) => void,
    onExit: NativeExitCallback,
    onQueued: () => void,
  ): void {
    const limits = {
      memoryLimit: req.memoryLimit ?? this.s.memoryLimit,
      pidsLimit: req.pidsLimit ?? this.s.pidsLimit,
      cpuLimit: req.cpuLimit ?? this.s.cpuLimit,
    }
    const env = Object.keys(req.env).length === 0 ? this.s.env : { ...this.s.env, ...req.env }
    const creds = req.user === undefined ? undefined : resolveUser(req.user, this.binding)
    // Before the cgroup: what extra opens, its caller closes if the launch throws.
    const fields = extra?.(creds) ?? {}
    const base = env === this.s.env
    const entries = base ? this.baseEnvp : envp(env)
    const block = base ? this.baseEnvBlock : envBlock(entries)
    const cgroup = this.acquireCgroup(limits)
    try {
      this.binding.spawn(
        {
          command: req.command,
          candidates: pathCandidates(req.command, env.PATH),
          argv: [req.command, ...req.args],
          ...(block === null ? { envp: entries } : { envp: [], envBlock: block }),
          // A relative working_dir is relative to the base working dir, not to ours.
          cwd: req.workingDir === undefined ? this.s.cwd : path.resolve(this.s.cwd, req.workingDir),
          ...creds,
          stdio: [0, 0, 0],
          ...fields,
          // Memory first (clone3 may place the child there), then only the hierarchies a limit needs.
          cgroupJoins: cgroup === null ? [] : [cgroup.join, ...cgroup.extraJoins],
          cgroupDirFd: cgroup?.dirFd ?? -1,
          exitReads: cgroup?.exitReads ?? [],
          pipeSize: this.s.pipeSize,
          inline: this.inline,
          jsThread: this.s.handover,
        },
        (err, spawned) => {
          // The child has joined (or never will): holding these for its whole life
          // would cost two or three fds a process.
          cgroup?.closeJoinFds()
          onQueued()
          if (err !== null || spawned === undefined) {
            cgroup?.release().catch(() => undefined)
            return onSpawned(err)
          }
          onSpawned(null, {
            spawned,
            cgroup,
            user: creds === undefined ? ownUser() : { uid: creds.uid, gid: creds.gid },
          })
        },
        onExit,
      )
    } catch (err) {
      // Never spawned (a field the addon refused): its cgroup goes now.
      cgroup?.closeJoinFds()
      cgroup?.release().catch(() => undefined)
      throw err
    }
  }

  private acquireCgroup(limits: {
    memoryLimit?: number
    pidsLimit?: number
    cpuLimit?: number
  }): ReturnType<CgroupManager['acquire']> {
    if (this.cgroups !== null) return this.cgroups.acquire({ ...limits, oomGroup: this.s.oomGroup })
    const field =
      limits.memoryLimit !== undefined
        ? 'memory_limit'
        : limits.pidsLimit !== undefined
          ? 'pids_limit'
          : limits.cpuLimit !== undefined
            ? 'cpu_limit'
            : null
    if (field === null) return null
    throw coded(`${field} needs a cgroup: ${this.capabilities.reason ?? ''}`, 'ENOTSUP', { syscall: 'cgroup' })
  }
}

function ownUser(): { uid: number; gid: number } {
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }
}
