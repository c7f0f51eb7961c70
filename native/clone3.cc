#include "clone3.h"

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

namespace sandproc {
namespace {

#if defined(__x86_64__)
// The kernel's clone3 argument block (linux/sched.h, version 2 with `cgroup`).
struct Clone3Args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

// clone3 has no libc wrapper, and a child on a new stack cannot return into this C++
// frame: it calls fn(arg) directly from the syscall site and exits with its result.
long Clone3Run(Clone3Args* args, int (*fn)(void*), void* arg) {
  long ret;
  register void* r12 asm("r12") = reinterpret_cast<void*>(fn);
  register void* r13 asm("r13") = arg;
  asm volatile(
      "syscall\n\t"
      "testq %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xorl %%ebp, %%ebp\n\t"
      "movq %%r13, %%rdi\n\t"
      "callq *%%r12\n\t"
      "movl %%eax, %%edi\n\t"
      "movl $231, %%eax\n\t"  // exit_group: the child's own thread group only
      "syscall\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "0"(static_cast<long>(SYS_clone3)), "D"(args), "S"(sizeof(Clone3Args)), "r"(r12), "r"(r13)
      : "rcx", "r11", "memory");
  return ret;
}
// Container seccomp profiles often refuse clone3; after one refusal stop trying.
std::atomic<bool> clone3_usable{true};
#endif

}  // namespace

pid_t Clone3IntoCgroup(int cgroup_fd, void* stack, size_t stack_size, int (*fn)(void*), void* arg, int* pidfd,
                       unsigned long extra_flags) {
#if defined(__x86_64__)
  if (!clone3_usable.load(std::memory_order_relaxed)) return -1;
  Clone3Args ca{};
  ca.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_INTO_CGROUP | extra_flags;
  ca.pidfd = reinterpret_cast<uint64_t>(pidfd);
  ca.exit_signal = SIGCHLD;
  ca.stack = reinterpret_cast<uint64_t>(stack);
  ca.stack_size = stack_size;
  ca.cgroup = static_cast<uint64_t>(cgroup_fd);
  long r = Clone3Run(&ca, fn, arg);
  if (r >= 0) return static_cast<pid_t>(r);
  int err = static_cast<int>(-r);
  if (err == ENOSYS || err == EPERM || err == E2BIG || err == EINVAL)
    clone3_usable.store(false, std::memory_order_relaxed);
  return -1;
#else
  (void)cgroup_fd, (void)stack, (void)stack_size, (void)fn, (void)arg, (void)pidfd, (void)extra_flags;
  return -1;
#endif
}

bool Clone3Usable() {
#if defined(__x86_64__)
  return clone3_usable.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

}  // namespace sandproc
