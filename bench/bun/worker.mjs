// Runs inside Bun, started by bench/lib/bun.ts: the same work as the Node contenders,
// done with Bun.spawn and timed here, so the pipe to the bench is not in the figure.
// One JSON request a line on stdin, one JSON answer a line on stdout.
//   {"op":"run","cmd":"/bin/true","args":[]}          -> {"ms":1.2}
//   {"op":"burst","cmd":"/bin/sleep","arg":"1","n":1000} -> {"spawnAllMs":..,"maxLoopDelayMs":..}
// Plain JavaScript: the bench's tsconfig has Node's types, not Bun's.

async function drain(stream) {
  const reader = stream.getReader()
  for (;;) {
    const { done } = await reader.read()
    if (done) return
  }
}

// stdin closed (/dev/null), stdout and stderr piped and read to EOF, as for the others.
async function run(cmd, args) {
  const t = performance.now()
  const p = Bun.spawn([cmd, ...args], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  const [, , code] = await Promise.all([drain(p.stdout), drain(p.stderr), p.exited])
  const ms = performance.now() - t
  if (code !== 0) throw new Error(`${cmd} exited with ${code}`)
  return { ms }
}

// N concurrent processes: time until the last has been spawned (Bun.spawn returns once
// the child exists), and the largest lateness of a 1 ms timer meanwhile.
async function burst(cmd, arg, n) {
  let maxDelay = 0
  let last = performance.now()
  const tick = setInterval(() => {
    const now = performance.now()
    maxDelay = Math.max(maxDelay, now - last - 1)
    last = now
  }, 1)
  await new Promise((resolve) => setTimeout(resolve, 20))
  const t0 = performance.now()
  const procs = []
  for (let i = 0; i < n; i++) {
    procs.push(Bun.spawn([cmd, arg], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' }))
  }
  const spawnAllMs = performance.now() - t0
  await Promise.all(procs.map((p) => Promise.all([drain(p.stdout), drain(p.stderr), p.exited])))
  clearInterval(tick)
  return { spawnAllMs, maxLoopDelayMs: maxDelay }
}

for await (const line of console) {
  if (line === '') continue
  const req = JSON.parse(line)
  let out
  try {
    if (req.op === 'run') out = await run(req.cmd, req.args ?? [])
    else if (req.op === 'burst') out = await burst(req.cmd, req.arg, req.n)
    else throw new Error(`unknown op ${req.op}`)
  } catch (err) {
    out = { error: String(err?.message ?? err) }
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}
