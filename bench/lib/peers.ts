/** The two peers sandproc is measured against: Node's child_process and execa. */
import { spawn } from 'node:child_process'
import readline from 'node:readline'
import type { Readable } from 'node:stream'
import { execa } from 'execa'
import { type LaunchHooks, type LineEvent, type Runner, Tally, exitError } from './runner.js'

function eventsOf(stream: Readable, name: LineEvent['stream'], tally: Tally): Promise<void> {
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity })
  rl.on('line', (line) => tally.add({ line, timestamp: Date.now(), stream: name }))
  return new Promise((resolve) => rl.once('close', () => resolve()))
}

/** child_process.spawn, with readline making the per-line events. */
export const childProcessRunner: Runner = {
  name: 'child_process',

  run(command, args) {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      child.stdout.resume()
      child.stderr.resume()
      child.once('error', reject)
      child.once('close', (code, signal) =>
        code === 0 ? resolve() : reject(exitError('child_process', command, `${code ?? signal}`)),
      )
    })
  },

  async lines(command, args) {
    const tally = new Tally()
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const closed = new Promise<void>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (code, signal) =>
        code === 0 ? resolve() : reject(exitError('child_process', command, `${code ?? signal}`)),
      )
    })
    await Promise.all([eventsOf(child.stdout, 'stdout', tally), eventsOf(child.stderr, 'stderr', tally), closed])
    return tally
  },

  launch(command, args, hooks: LaunchHooks) {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    // Listeners first: past the fd limit the spawn fails with no pipes (stdout is null)
    // and its 'error' event must find a listener.
    child.once('spawn', hooks.onStart)
    child.on('error', hooks.onError)
    child.once('close', hooks.onExit)
    child.stdout?.resume()
    child.stderr?.resume()
    return () => void child.kill('SIGKILL')
  },

  async close() {},
}

/** execa with its defaults (buffered output), and its line iteration for streaming. */
export const execaRunner: Runner = {
  name: 'execa',

  async run(command, args) {
    await execa(command, args, { stdin: 'ignore' })
  },

  async lines(command, args) {
    const tally = new Tally()
    // buffer: false is what execa recommends when iterating, so it does not also keep
    // every line in memory.
    const sub = execa(command, args, { stdin: 'ignore', buffer: false })
    for await (const line of sub) tally.add({ line, timestamp: Date.now(), stream: 'stdout' })
    await sub
    return tally
  },

  launch(command, args, hooks: LaunchHooks) {
    const sub = execa(command, args, { stdin: 'ignore' })
    sub.once('spawn', hooks.onStart)
    sub.then(hooks.onExit, hooks.onError)
    return () => void sub.kill('SIGKILL')
  },

  async close() {},
}
