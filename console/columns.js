// The process table's columns, sort keys and status filters.

import { cpuMs, wallMs } from './format.js'

const STATUS_ORDER = { running: 0, exited: 1, signaled: 2, oom_killed: 3 }

export const SIGNAL_CHOICES = [15, 2, 1, 9, 10, 12, 19, 18, 3]

export const COLUMNS = [
  ['pid', 'PID'],
  ['command', 'Command'],
  ['user', 'User'],
  ['status', 'Status'],
  ['started', 'Started'],
  ['ended', 'Ended'],
  ['wall', 'Wall'],
  ['cpu', 'CPU'],
  ['memory', 'Mem peak'],
  ['managed', 'Managed'],
  ['health', 'Health'],
  ['restarts', 'Restarts'],
  ['next', 'Next restart'],
]

export const SORT_VALUE = {
  pid: (p) => p.pid,
  command: (p) => [p.command, ...p.args].join(' '),
  user: (p) => p.user?.uid ?? -1,
  status: (p) => STATUS_ORDER[p.status] ?? 9,
  started: (p) => p.started_at ?? 0,
  ended: (p) => p.ended_at ?? Number.MAX_SAFE_INTEGER,
  wall: (p, now) => wallMs(p, now) ?? -1,
  cpu: (p) => cpuMs(p) ?? -1,
  memory: (p) => p.usage?.memory_peak_bytes ?? -1,
  managed: (p) => p.managed?.status ?? '',
  health: (p) => p.managed?.health_status ?? '',
  restarts: (p) => p.managed?.restart_count ?? -1,
  next: (p) => p.managed?.next_restart_at ?? Number.MAX_SAFE_INTEGER,
}

export const FILTERS = {
  all: () => true,
  running: (p) => p.status === 'running',
  ended: (p) => p.status !== 'running',
  exited: (p) => p.status === 'exited',
  signaled: (p) => p.status === 'signaled',
  oom_killed: (p) => p.status === 'oom_killed',
  managed: (p) => p.managed != null,
}
