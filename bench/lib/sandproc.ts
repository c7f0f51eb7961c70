/** sandproc as a bench contender: the Supervisor of this tree, with its defaults. */
import { Supervisor, type ExitEvent } from '../../src/index.js'
import { type LaunchHooks, type Runner, Tally, exitError } from './runner.js'
import { type CgroupShape, shapeOf } from './shape.js'

export interface SandprocOptions {
  /** false: no per-process memory cgroup, to show what the cgroup costs. */
  cgroup?: false
}

function checkExit(command: string, ev: ExitEvent): void {
  if (ev.exit_code !== 0) throw exitError('sandproc', command, `${ev.exit_code ?? `signal ${ev.signal}`}`)
}

export type SandprocRunner = Runner & { readonly cgroup: string; readonly shape: CgroupShape }

export async function sandprocRunner(opts: SandprocOptions = {}): Promise<SandprocRunner> {
  const sup = new Supervisor(opts.cgroup === false ? { cgroup: false } : {})
  return {
    name: 'sandproc',
    cgroup: sup.capabilities.cgroup ?? 'none',
    shape: shapeOf(sup.capabilities),

    async run(command, args) {
      checkExit(command, await sup.run({ command, args: [...args] }).exited)
    },

    async lines(command, args) {
      const tally = new Tally()
      const proc = sup.run({ command, args: [...args] })
      proc.on('output', (ev) => tally.add(ev))
      checkExit(command, await proc.exited)
      return tally
    },

    launch(command, args, hooks: LaunchHooks) {
      const proc = sup.run({ command, args: [...args] })
      // Spawn failures reject both promises; report them once.
      proc.started.then(hooks.onStart, hooks.onError)
      proc.exited.then(hooks.onExit, () => {})
      return () => void proc.kill('SIGKILL')
    },

    close: () => sup.close(),
  }
}
