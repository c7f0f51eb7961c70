/** The addon's spawn as a promise, for tests that drive the binding directly. */
import { binding, type NativeSpawned, type NativeSpawnOptions } from '../../src/native.js'

export interface Direct {
  spawned: NativeSpawned
  /** [code, signal, userUs, sysUs] from the exit callback. */
  exit: Promise<[number | null, number | null, number, number]>
}

/** Resolves once the child exists; rejects with the spawn's SystemError. */
export function spawnDirect(opts: NativeSpawnOptions): Promise<Direct> {
  let exited!: (v: [number | null, number | null, number, number]) => void
  const exit = new Promise<[number | null, number | null, number, number]>((resolve) => (exited = resolve))
  return new Promise((resolve, reject) => {
    binding.spawn(
      opts,
      (err, spawned) => (err !== null || spawned === undefined ? reject(err) : resolve({ spawned, exit })),
      (code, sig, u, s) => exited([code, sig, u, s]),
    )
  })
}
