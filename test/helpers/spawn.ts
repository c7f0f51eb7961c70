/** The addon's spawn as a promise, for tests that drive the binding directly. */
import { binding, type NativeSpawned, type NativeSpawnOptions } from '../../src/native.js'

export interface Direct {
  spawned: NativeSpawned
  /** [code, signal, userUs, sysUs, texts of exitReads] from the exit callback. */
  exit: Promise<Exit>
}

type Exit = [number | null, number | null, number, number, readonly (string | null)[] | undefined]

/** Resolves once the child exists; rejects with the spawn's SystemError. */
export function spawnDirect(opts: NativeSpawnOptions): Promise<Direct> {
  let exited!: (v: Exit) => void
  const exit = new Promise<Exit>((resolve) => (exited = resolve))
  return new Promise((resolve, reject) => {
    binding.spawn(
      opts,
      (err, spawned) => (err !== null || spawned === undefined ? reject(err) : resolve({ spawned, exit })),
      (code, sig, u, s, texts) => exited([code, sig, u, s, texts]),
    )
  })
}
