/**
 * The public surface is what README.md and docs/ document: one Supervisor whose members
 * are the documented ones (the core's table and its hooks for the layers stay internal),
 * and no undocumented values exported from the entry point.
 */
import { describe, expect, it } from 'vitest'
import * as sandproc from '../src/index.js'

const EXPORTED_VALUES = [
  'AuditLog',
  'ManagedProcess',
  'OutputLog',
  'SSE_HEADERS',
  'SupervisedProcess',
  'Supervisor',
  'commentFrame',
  'createServer',
  'dataFrame',
  'eventFrame',
  'followEventStream',
  'openPty',
  'runEventStream',
  'shutdown',
  'spawnErrorResponse',
  'toErrorResponse',
  'toReadableStream',
]

const SUPERVISOR_MEMBERS = [
  'active',
  'close',
  'constructor',
  'cwd',
  'get',
  'handover',
  'list',
  'managed',
  'managedOf',
  'managedProcesses',
  'observe',
  'process',
  'processes',
  'pty',
  'ready',
  'run',
  'running',
  'start',
  'startManaged',
  'total',
]

describe('public API', () => {
  it('exports only the documented values', () => {
    expect(Object.keys(sandproc).sort()).toEqual(EXPORTED_VALUES)
  })

  it('has one Supervisor, with pty() its own method and none of the core internals', () => {
    const names = new Set<string>()
    for (let p = sandproc.Supervisor.prototype; p !== Object.prototype; p = Object.getPrototypeOf(p)) {
      for (const name of Object.getOwnPropertyNames(p)) names.add(name)
    }
    expect([...names].sort()).toEqual(SUPERVISOR_MEMBERS)
    expect(Object.getPrototypeOf(sandproc.Supervisor.prototype)).toBe(Object.prototype)
  })
})
