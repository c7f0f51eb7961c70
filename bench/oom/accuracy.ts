/**
 * OOM accuracy: N processes that the kernel OOM-kills under a 64 MiB limit, and N that
 * die of a SIGKILL that is not the OOM killer's (sandproc's kill(), its timeout, and a
 * kill -9 from outside, in turn). Prints how many OOM kills were reported as such and how
 * many other SIGKILLs were wrongly called OOM kills. Needs root and a memory cgroup.
 *
 *   npx tsx bench/oom/accuracy.ts [N=50]
 */
import { Supervisor } from '../../src/index.js'
import type { ExitEvent } from '../../src/types.js'

const n = Number(process.argv[2] ?? 50)
// Stops by itself at 1 GiB: a limit that failed to apply must not OOM the machine.
const HOG = 'a = []\nfor i in range(1024):\n    a.append(bytearray(1 << 20))\nraise SystemExit(3)'

const sup = new Supervisor({ oomGroup: false })
if (!sup.capabilities.oomDetection) {
  console.error(`no OOM detection here: ${sup.capabilities.reason ?? ''}`)
  process.exit(2)
}

async function otherSigkill(i: number): Promise<ExitEvent> {
  if (i % 3 === 2) return sup.run({ command: 'sleep', args: ['100'], timeout: 0.02, memory_limit: '64M' }).exited
  const p = sup.run({ command: 'sleep', args: ['100'], memory_limit: '64M' })
  const { pid } = await p.started
  if (i % 3 === 0) p.kill('SIGKILL')
  else process.kill(pid, 'SIGKILL')
  return p.exited
}

let detected = 0
let falsePositives = 0
for (let i = 0; i < n; i++) {
  const oom = await sup.run({ command: 'python3', args: ['-c', HOG], memory_limit: '64M' }).exited
  if (oom.signal === 9 && oom.oom_killed === true) detected++
  const other = await otherSigkill(i)
  if (other.signal !== 9) throw new Error(`expected SIGKILL, got ${JSON.stringify(other)}`)
  if (other.oom_killed === true) falsePositives++
}
console.log(
  `cgroup ${sup.capabilities.cgroup}: OOM kills reported ${detected}/${n}; other SIGKILLs called OOM ${falsePositives}/${n}`,
)
await sup.close()
