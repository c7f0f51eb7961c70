/**
 * The cgroup layer's front door: everything above it (core, cli, server) imports from
 * here, never from the files behind it. Memory is the controller every process gets
 * (memory.ts); pids and cpu come with their limits (pids.ts, cpu.ts). One
 * {@link CgroupManager} per supervisor hands out one {@link ProcessCgroup} per process.
 */
export { CgroupManager, type AcquireOptions, type CgroupCapabilities, type CgroupOptions } from './manager.js'
export { ProcessCgroup } from './process.js'
export type { CgroupCounters } from './process.js'
export type { LimitRequest, LimitCounters } from './applied-limits.js'
export type { Controller, ControllerState } from './controllers.js'
export type { CgroupError } from './errors.js'
export type { FsKind } from './detect.js'
export type { Placement } from './placement.js'
export type { PidsCounters } from './pids.js'
export { parseMemoryLimit } from './memory.js'
export { parsePidsLimit } from './pids.js'
export { parseCpuLimit } from './cpu.js'
export { lockFreeJoin } from './join.js'
