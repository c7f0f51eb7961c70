#include "watchdog.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "errors.h"
#include "exit_watch.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace sandproc {
namespace {

// The watchdog is a fork of a multi-threaded process: it may only make raw syscalls
// (another thread may have held the malloc lock at the fork). Its state is static.
constexpr int kMaxGroups = 1 << 16;
int32_t groups[kMaxGroups];
int ngroups = 0;
char path_buf[4096];
char read_buf[65536];

void Track(int32_t rec) {
  if (rec > 0) {
    if (ngroups < kMaxGroups) groups[ngroups++] = rec;
    return;
  }
  for (int i = 0; i < ngroups; i++) {
    if (groups[i] == -rec) {
      groups[i] = groups[--ngroups];
      return;
    }
  }
}

// Appends s to path_buf at *len; false when it would not fit.
bool Append(size_t* len, const char* s) {
  size_t n = strlen(s);
  if (*len + n + 1 > sizeof path_buf) return false;
  memcpy(path_buf + *len, s, n + 1);
  *len += n;
  return true;
}

// SIGKILLs every pid listed in path_buf (a cgroup.procs file); returns how many.
int KillListed() {
  int fd = open(path_buf, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, read_buf, sizeof read_buf - 1);
  close(fd);
  int killed = 0;
  long pid = 0;
  for (ssize_t i = 0; i < n; i++) {
    char c = read_buf[i];
    if (c >= '0' && c <= '9') {
      pid = pid * 10 + (c - '0');
    } else {
      if (pid > 0 && kill(static_cast<pid_t>(pid), SIGKILL) == 0) killed++;
      pid = 0;
    }
  }
  return killed;
}

// Writes s to the file named by path_buf, if it exists.
void WriteFile(const char* s) {
  int fd = open(path_buf, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t ignored = write(fd, s, strlen(s));
  (void)ignored;
  close(fd);
}

struct Dirent64 {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[1];
};

// One pass over <dir>/*: kill what is listed, try to remove the emptied cgroups.
// Returns the number of processes signalled (0: nothing left alive to kill).
int SweepCgroups(const char* dir, bool remove) {
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return 0;
  int killed = 0;
  char buf[8192];
  for (;;) {
    long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<Dirent64*>(buf + off);
      off += d->reclen;
      if (d->type != DT_DIR || d->name[0] == '.') continue;
      size_t len = 0;
      if (!Append(&len, dir) || !Append(&len, "/") || !Append(&len, d->name)) continue;
      size_t base = len;
      if (!Append(&len, "/cgroup.procs")) continue;
      killed += KillListed();
      // A frozen tree (docs/freeze.md) is thawed after its SIGKILLs: v1 holds them until
      // then. Each file exists only where its freezer does.
      path_buf[base] = '\0';
      len = base;
      if (Append(&len, "/freezer.state")) WriteFile("THAWED");
      path_buf[base] = '\0';
      len = base;
      if (Append(&len, "/cgroup.freeze")) WriteFile("0");
      path_buf[base] = '\0';
      if (remove) rmdir(path_buf);
    }
  }
  close(dfd);
  return killed;
}

// A table of process groups shared with the supervisor (a memfd mapped by both): it
// writes a group into a free slot when it starts and zeroes the slot when the group is
// gone, with no syscall and no wake-up of the watchdog, which reads the table only once
// the supervisor is gone. The pipe's records remain for when the table is full.
struct Slots {
  const volatile int32_t* at = nullptr;
  size_t count = 0;
};

// Maps the table of `fd` (a memfd of int32 slots) shared; {nullptr, 0} when it cannot.
Slots MapSlots(int fd) {
  // Its size by lseek, not fstat: fstat is a GLIBC_2.33 symbol, and the prebuilds load on 2.28.
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0) return {};
  void* p = mmap(nullptr, static_cast<size_t>(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return {};
  return {static_cast<int32_t*>(p), static_cast<size_t>(size) / sizeof(int32_t)};
}

// dirs: the per-supervisor directories, memory's first (killing there kills every task
// of every tree), then those of the other v1 hierarchies (pids, cpu, freezer), emptied
// with it.
[[noreturn]] void WatchdogMain(int rfd, const std::vector<std::string>& dirs, Slots slots) {
  // Its own session: a Ctrl-C or SIGTERM aimed at the supervisor's group must not take
  // the watchdog with it before it has done its job.
  setsid();
  struct sigaction ign = {};
  ign.sa_handler = SIG_IGN;
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE}) sigaction(sig, &ign, nullptr);
  sigset_t none;
  sigemptyset(&none);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof(uint64_t));
  if (rfd != 0) {
    dup2(rfd, 0);
  }
  syscall(SYS_close_range, 1U, ~0U, 0U);

  int32_t recs[1024];
  for (;;) {
    ssize_t n = read(0, recs, sizeof recs);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n / 4; i++) Track(recs[i]);
  }

  for (int i = 0; i < ngroups; i++) kill(-groups[i], SIGKILL);
  for (size_t i = 0; i < slots.count; i++) {
    int32_t pgid = slots.at[i];
    if (pgid > 0) kill(-pgid, SIGKILL);
  }
  if (!dirs.empty()) {
    // Killed processes leave their cgroup only once the kernel has torn them down:
    // sweep until a pass finds nobody (bounded: about two seconds). Reading the
    // strings allocates nothing: this is our own copy of the memory, made by the fork.
    struct timespec pause = {0, 20 * 1000 * 1000};
    for (int round = 0; round < 100; round++) {
      int killed = 0;
      for (const std::string& d : dirs) killed += SweepCgroups(d.c_str(), true);
      if (killed == 0) break;
      nanosleep(&pause, nullptr);
    }
    for (const std::string& d : dirs) {
      SweepCgroups(d.c_str(), true);
      rmdir(d.c_str());
    }
  }
  _exit(0);
}

// The table as an ArrayBuffer over the mapping itself, unmapped when collected.
Napi::ArrayBuffer SlotsBuffer(Napi::Env env, Slots slots) {
  size_t bytes = slots.count * sizeof(int32_t);
  return Napi::ArrayBuffer::New(env, const_cast<int32_t*>(slots.at), bytes,
                                [bytes](Napi::Env, void* data) { munmap(data, bytes); });
}

}  // namespace

Napi::Value StartWatchdog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // One directory (a string, "" for none) or several (an array, memory's first).
  std::vector<std::string> dirs;
  if (info[0].IsArray()) {
    Napi::Array arr = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) dirs.push_back(arr.Get(i).As<Napi::String>().Utf8Value());
  } else {
    std::string dir = info[0].As<Napi::String>().Utf8Value();
    if (!dir.empty()) dirs.push_back(dir);
  }
  Napi::Function on_exit = info[1].As<Napi::Function>();
  uint32_t nslots = info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 0;
  int shm = -1;
  Slots slots;
  if (nslots > 0) {
    shm = static_cast<int>(syscall(SYS_memfd_create, "sandproc-watchdog", MFD_CLOEXEC));
    if (shm < 0 || ftruncate(shm, static_cast<off_t>(nslots) * sizeof(int32_t)) < 0) {
      int err = errno;
      if (shm >= 0) close(shm);
      ThrowSystemError(env, err, "memfd_create");
      return env.Undefined();
    }
    slots = MapSlots(shm);
    if (slots.at == nullptr) {
      int err = errno;
      close(shm);
      ThrowSystemError(env, err, "mmap");
      return env.Undefined();
    }
  }
  auto unmap = [&slots]() {
    if (slots.at != nullptr) munmap(const_cast<int32_t*>(slots.at), slots.count * sizeof(int32_t));
  };
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    int err = errno;
    unmap();
    if (shm >= 0) close(shm);
    ThrowSystemError(env, err, "pipe2");
    return env.Undefined();
  }
  int pidfd = -1;
  // A plain fork (no CLONE_VM): the watchdog must keep running after we are gone, so
  // it cannot share our memory, except the slot table, mapped shared before the fork.
  // One fork per supervisor, at construction.
  long pid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, nullptr, &pidfd, nullptr, nullptr);
  if (pid == 0) WatchdogMain(p[0], dirs, slots);  // the child reads its own copy of `dirs`
  int err = errno;
  close(p[0]);
  if (pid < 0) {
    close(p[1]);
    unmap();
    if (shm >= 0) close(shm);
    ThrowSystemError(env, err, "clone");
    return env.Undefined();
  }
  // Never block the supervisor on a stuck watchdog: a full pipe drops records.
  fcntl(p[1], F_SETFL, O_NONBLOCK);
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, static_cast<double>(pid)));
  out.Set("fd", Napi::Number::New(env, p[1]));
  out.Set("child", ChildHandle::New(env, static_cast<pid_t>(pid), pidfd, on_exit));
  out.Set("shm", Napi::Number::New(env, shm));
  if (slots.at != nullptr) out.Set("slots", SlotsBuffer(env, slots));
  return out;
}

Napi::Value MapWatchdogSlots(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Slots slots = MapSlots(info[0].As<Napi::Number>().Int32Value());
  if (slots.at == nullptr) {
    ThrowSystemError(env, errno, "mmap");
    return env.Undefined();
  }
  return SlotsBuffer(env, slots);
}

}  // namespace sandproc
