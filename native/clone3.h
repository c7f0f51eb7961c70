// clone3 with CLONE_INTO_CGROUP (Linux 5.7, cgroup v2): the child is born in its
// cgroup, so no cgroup.procs write (and no cgroup_threadgroup_rwsem write lock) is needed.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace sandproc {

// Runs fn(arg) in a child sharing our memory (CLONE_VM|CLONE_VFORK|CLONE_PIDFD, plus
// extra_flags) on the given stack, placed into the cgroup whose directory fd is cgroup_fd. Returns the pid,
// or -1 when clone3 is unavailable (other architectures, old kernels, seccomp filters
// that refuse it: after one refusal it is not tried again); then use clone() instead.
pid_t Clone3IntoCgroup(int cgroup_fd, void* stack, size_t stack_size, int (*fn)(void*), void* arg, int* pidfd,
                       unsigned long extra_flags = 0);

// False once clone3 was refused (or always, off x86_64): a v2 join then writes cgroup.procs.
bool Clone3Usable();

}  // namespace sandproc
