// A small process that outlives a supervisor killed with SIGKILL and ends what it left.
// The parent-death signal reaches only direct children; their descendants would be
// reparented and live on. The watchdog holds the read end of a pipe from the
// supervisor: EOF (the supervisor closed it, or died) means "kill everything left".
#pragma once

#include <napi.h>

namespace sandproc {

// startWatchdog(cgroupDirs: string | string[], onExit, slots?: number)
//   -> { pid, fd, child, shm, slots? }
// cgroupDirs: the supervisor's directories of per-process cgroups ("" or [] for none). On
// EOF the watchdog SIGKILLs every pid in <dir>/*/cgroup.procs until they are empty and
// removes those directories. `fd` (non-blocking) takes 4-byte records: +pgid to watch a
// process group, -pgid to forget it. With `slots` > 0, `slots` is also an ArrayBuffer of
// that many int32 shared with the watchdog (`shm`, a memfd, holds it): a positive value
// is a group to watch, 0 a free slot. Watched groups get SIGKILL on EOF.
Napi::Value StartWatchdog(const Napi::CallbackInfo& info);

// mapWatchdogSlots(shm: number) -> ArrayBuffer: the slot table of an inherited watchdog.
Napi::Value MapWatchdogSlots(const Napi::CallbackInfo& info);

}  // namespace sandproc
