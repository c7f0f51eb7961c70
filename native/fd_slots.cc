#include "fd_slots.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

namespace sandproc {
namespace {

// Fds below this are not worth placing: copying a table this small costs less than the
// dup3s would.
constexpr int kWorthItFrom = 64;

int ProbeChild(void*) {
  // Shares the parent's table until this call succeeds; then its own, with fds 0-2 only.
  return syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_UNSHARE) == 0 ? 0 : 1;
}

bool Probe() {
  constexpr size_t kStack = 16 * 1024;
  void* stack = mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return false;
  // Signals blocked while the child runs on our memory, as in Spawn.
  sigset_t all, old;
  sigfillset(&all);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof(uint64_t));
  pid_t pid =
      clone(ProbeChild, static_cast<char*>(stack) + kStack, CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, nullptr);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof(uint64_t));
  bool ok = false;
  if (pid > 0) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  munmap(stack, kStack);
  return ok;
}

}  // namespace

bool FilesUnshareUsable() {
  // A function-local static (thread-safe init), not std::call_once: no newer libstdc++
  // symbol for the prebuilds to depend on.
  static const bool usable = Probe();
  return usable;
}

FdSlots::FdSlots() {
  for (int& s : slots_) s = -1;
  placeholder_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (placeholder_ < 0) return;
  int highest = placeholder_;
  for (int& s : slots_) {
    s = fcntl(placeholder_, F_DUPFD_CLOEXEC, 3);
    if (s < 0) return;
    if (s > highest) highest = s;
  }
  limit_ = highest + 1;
}

FdSlots::~FdSlots() {
  for (int s : slots_) {
    if (s >= 0) close(s);
  }
  if (placeholder_ >= 0) close(placeholder_);
}

// The probe (a clone) runs the first time a table is large enough, not at load: most
// supervisors never hold that many fds.
bool FdSlots::WorthIt(int highest_fd) const {
  return limit_ > 0 && highest_fd >= kWorthItFrom && highest_fd >= limit_ && FilesUnshareUsable();
}

int FdSlots::Place(int fd) {
  if (fd < limit_) return fd;
  // The same fd given twice (a terminal is all three of stdin, stdout and stderr): one slot.
  for (int i = 0; i < used_; i++) {
    if (from_[i] == fd) return slots_[i];
  }
  if (used_ == kFdSlots) return -1;
  int slot = slots_[used_];
  if (dup3(fd, slot, O_CLOEXEC) < 0) return -1;
  from_[used_++] = fd;
  return slot;
}

void FdSlots::Release() {
  for (int i = 0; i < used_; i++) dup3(placeholder_, slots_[i], O_CLOEXEC);
  used_ = 0;
}

}  // namespace sandproc
