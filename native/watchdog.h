// A small process that outlives a supervisor killed with SIGKILL and ends what it left.
// The parent-death signal reaches only direct children; their descendants would be
// reparented and live on. The watchdog holds the read end of a pipe from the
// supervisor: EOF (the supervisor closed it, or died) means "kill everything left".
#pragma once

#include <napi.h>

namespace sandproc {

// startWatchdog(cgroupDir: string) -> { pid, fd, child }
// cgroupDir: the supervisor's directory of per-process cgroups ("" for none). On EOF the
// watchdog SIGKILLs every pid in <cgroupDir>/*/cgroup.procs until they are empty and
// removes those directories. `fd` (non-blocking) takes 4-byte records: +pgid to watch a
// process group, -pgid to forget it; watched groups get SIGKILL on EOF as well.
Napi::Value StartWatchdog(const Napi::CallbackInfo& info);

}  // namespace sandproc
