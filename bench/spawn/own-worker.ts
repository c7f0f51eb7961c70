/**
 * sandproc in a Node process of its own, started by bench/lib/bun.ts (startOwnSandproc):
 * the same protocol and the same work as bench/bun/worker.mjs, timed here, so that it
 * and `Bun.spawn` are measured alike (neither shares its process with forking peers).
 *   {"op":"run","cmd":"/bin/true","args":[]}  -> {"ms":1.2}
 *   {"op":"shape"}                            -> where its cgroups went (lib/shape.ts)
 * OWN_CGROUP_PARENT: the cgroup to make its directory in (on v2, see lib/shape.ts).
 */
import { Supervisor } from '../../src/index.js'
import { shapeOf } from '../lib/shape.js'
import { serveRequests } from '../lib/worker-loop.js'

const parent = process.env.OWN_CGROUP_PARENT
const sup = new Supervisor(parent ? { cgroup: { parent } } : {})

// stdin closed, stdout and stderr piped and consumed, as for every contender.
async function run(cmd: string, args: string[]): Promise<{ ms: number }> {
  const t = performance.now()
  const ev = await sup.run({ command: cmd, args }).exited
  const ms = performance.now() - t
  if (ev.exit_code !== 0) throw new Error(`${cmd} ended with ${ev.exit_code ?? `signal ${ev.signal}`}`)
  return { ms }
}

await serveRequests({ run: (req) => run(req.cmd, req.args ?? []), shape: () => shapeOf(sup.capabilities) })
await sup.close()
