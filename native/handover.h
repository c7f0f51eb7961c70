// The live upgrade's native half (docs/upgrade.md): execve of the server's own program in
// the same pid with the fds to keep and a memfd of state, and adopting an inherited
// pidfd on the other side.
#pragma once

#include <napi.h>

namespace sandproc {

// handoverExec(file, argv, envp, keepFds, state): writes `state` to a memfd, clears
// FD_CLOEXEC on keepFds and the memfd, and execs `file` with envp plus
// SANDPROC_HANDOVER=<memfd>. Returns only on failure: every flag restored, the memfd
// closed, a SystemError thrown.
Napi::Value HandoverExec(const Napi::CallbackInfo& info);

// adoptChild(pid, pidfd, exitReads, onExit): watches an inherited pidfd as spawn's
// child would be watched; returns the child object.
Napi::Value AdoptChild(const Napi::CallbackInfo& info);

// setCloexec(fd): an inherited fd goes back to close-on-exec.
Napi::Value SetCloexec(const Napi::CallbackInfo& info);

// childPidfd(child): the pidfd a child object watches; -1 once reaped.
Napi::Value ChildPidfd(const Napi::CallbackInfo& info);

}  // namespace sandproc
