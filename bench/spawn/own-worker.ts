/**
 * sandproc in a Node process of its own, started by bench/lib/bun.ts (startOwnSandproc):
 * the same protocol and the same work as bench/bun/worker.mjs, timed here, so that it
 * and `Bun.spawn` are measured alike (neither shares its process with forking peers).
 *   {"op":"run","cmd":"/bin/true","args":[]}  -> {"ms":1.2}
 */
import { Supervisor } from '../../src/index.js'
import { serveRequests } from '../lib/worker-loop.js'

const sup = new Supervisor({})

// stdin closed, stdout and stderr piped and consumed, as for every contender.
async function run(cmd: string, args: string[]): Promise<{ ms: number }> {
  const t = performance.now()
  const ev = await sup.run({ command: cmd, args }).exited
  const ms = performance.now() - t
  if (ev.exit_code !== 0) throw new Error(`${cmd} ended with ${ev.exit_code ?? `signal ${ev.signal}`}`)
  return { ms }
}

await serveRequests({ run: (req) => run(req.cmd, req.args ?? []) })
await sup.close()
