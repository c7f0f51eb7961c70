/**
 * The worker side of the protocol bench/lib/worker-peer.ts drives: one JSON request a
 * line on stdin, one JSON answer a line on stdout, in order. A handler's failure is
 * answered as `{"error": message}` so the driver reports it instead of hanging.
 */
import { createInterface } from 'node:readline'

export interface WorkerRequest {
  op: string
  cmd: string
  args?: string[]
}

export type WorkerOps = Record<string, (req: WorkerRequest) => Promise<object> | object>

/** Answers requests until stdin ends. */
export async function serveRequests(ops: WorkerOps): Promise<void> {
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === '') continue
    const req = JSON.parse(line) as WorkerRequest
    let out: object
    try {
      const op = ops[req.op]
      if (op === undefined) throw new Error(`unknown op ${req.op}`)
      out = await op(req)
    } catch (err) {
      out = { error: String((err as Error | null)?.message ?? err) }
    }
    process.stdout.write(JSON.stringify(out) + '\n')
  }
}
