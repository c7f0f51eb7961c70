// Child setup and exec. The child shares our memory (CLONE_VM) and our thread is
// suspended until it execs or exits (CLONE_VFORK), so spawn cost does not grow with
// the parent's heap: no page tables are copied. The price is discipline: between clone
// and execve the child makes raw syscalls only, on data prepared here beforehand.
#include "spawn.h"

#include "clone3.h"
#include "fd_slots.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace sandproc {
namespace {

// The child's stages and the syscall each reports as, in one table: an enum, a name
// array and a hand-written bound drift apart (a stage past the bound was once reported
// as execve).
#define SANDPROC_STAGES(X)   \
  X(kCgroup, "cgroup")       \
  X(kSetsid, "setsid")       \
  X(kDup2, "dup2")           \
  X(kChdir, "chdir")         \
  X(kSetgroups, "setgroups") \
  X(kSetgid, "setgid")       \
  X(kSetuid, "setuid")       \
  X(kPrctl, "prctl")         \
  X(kExecve, "execve")       \
  X(kSetctty, "ioctl")       \
  X(kUnshare, "close_range") \
  X(kOomScore, "oom_score_adj")

#define SANDPROC_STAGE_ENUM(stage, syscall) stage,
#define SANDPROC_STAGE_NAME(stage, syscall) syscall,
enum Stage : int32_t { SANDPROC_STAGES(SANDPROC_STAGE_ENUM) kStages };
constexpr const char* kStageSyscall[] = {SANDPROC_STAGES(SANDPROC_STAGE_NAME)};
static_assert(sizeof kStageSyscall / sizeof kStageSyscall[0] == kStages, "a name for every stage");
#undef SANDPROC_STAGE_ENUM
#undef SANDPROC_STAGE_NAME

// What the child wrote, as the syscall to report; an unknown stage (a torn write cannot
// happen on a pipe, but the value comes from another process) is execve's.
const char* StageSyscall(int32_t stage) {
  return stage >= 0 && stage < kStages ? kStageSyscall[stage] : kStageSyscall[kExecve];
}

// What a failed child writes to the error pipe; EOF instead means execve succeeded.
struct ChildError {
  int32_t stage;
  int32_t err;
  int32_t index;  // kExecve: into the candidate list; kCgroup: into the joins
};

struct JoinFds {
  int fd;
  int fallback_fd;
};

struct ChildArgs {
  char* const* argv;
  char* const* envp;
  const char* const* candidates;
  int ncandidates;
  bool search;  // candidates come from a PATH search (the command has no '/')
  const char* cwd;
  int stdio[3];  // fds to become 0, 1, 2; all >= 3 so dup2 never clobbers a source
  int tty_fd;    // a pty slave to make the controlling terminal, or -1
  int err_fd;
  JoinFds joins[kMaxCgroupJoins];
  int first_join;  // 1 when clone3 already placed the child in joins[0]'s cgroup
  int njoins;
  bool reset_oom_score;  // the parent's oom_score_adj is not 0: the child writes 0
  bool set_credentials;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  size_t ngroups;
  pid_t parent_pid;
  // > 0: born sharing our fd table (CLONE_FILES); keeps only the fds below this (fd_slots.h).
  int unshare_below;
};

constexpr size_t kChildStackSize = 64 * 1024;

[[noreturn]] void ChildFail(const ChildArgs* a, Stage stage, int err, int index = -1) {
  ChildError e{stage, err, index};
  // Nothing to do if this write fails: the parent then sees EOF and, since the child
  // exits with 127 before exec, still learns from the reaped status that it failed.
  ssize_t n = write(a->err_fd, &e, sizeof e);
  (void)n;
  _exit(127);
}

int ChildMain(void* arg) {
  const ChildArgs* a = static_cast<const ChildArgs*>(arg);

  // Before anything that could change the table we share: from here on it is our own,
  // holding the parent's low fds and the slots, not the whole of it.
  if (a->unshare_below > 0 && syscall(SYS_close_range, a->unshare_below, ~0U, CLOSE_RANGE_UNSHARE) < 0) {
    ChildFail(a, kUnshare, errno);
  }

  // Join the cgroups first so that everything the child does, including its memory, is
  // charged there (clone3 with CLONE_INTO_CGROUP already did this atomically for the
  // first). We are a one-thread process, so moving this thread (v1 `tasks`) moves the
  // process; the fallback moves the whole thread group.
  for (int i = a->first_join; i < a->njoins; i++) {
    const JoinFds& j = a->joins[i];
    int err = EBADF;
    if (j.fd >= 0) {
      if (write(j.fd, "0", 1) == 1) continue;
      err = errno;
    }
    if (j.fallback_fd >= 0) {
      if (write(j.fallback_fd, "0", 1) == 1) continue;
      err = errno;
    }
    ChildFail(a, kCgroup, err, i);
  }

  // Handlers of the parent make no sense in the new image, and ignored dispositions
  // survive exec: Node ignores SIGPIPE, which would break every `cmd | head` in the child.
  // Signals stay blocked (see Spawn) until just before execve, so no parent handler can
  // run on this shared memory in the meantime. 32 and 33 are glibc's own.
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < 32; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }

  // Own session and process group: the whole tree can be signalled as -pid.
  if (setsid() < 0) ChildFail(a, kSetsid, errno);

  // A terminal session: the new session leader (no controlling terminal yet) takes the
  // slave as its own, or no SIGINT from ^C and no SIGWINCH would ever reach it.
  if (a->tty_fd >= 0 && ioctl(a->tty_fd, TIOCSCTTY, 0) < 0) ChildFail(a, kSetctty, errno);

  for (int fd = 0; fd < 3; fd++) {
    if (dup2(a->stdio[fd], fd) < 0) ChildFail(a, kDup2, errno);
  }

  if (a->cwd != nullptr && chdir(a->cwd) < 0) ChildFail(a, kChdir, errno);

  // oom_score_adj survives fork and exec: a daemon run at -1000 (docs/deploying.md) must
  // not hand that to the programs it runs. Before the credential change: a child that
  // drops to another user is no longer dumpable, so its /proc/self files belong to root
  // and it could not open this one. Raising the value needs no privilege, and a vfork
  // child (vfork_done set) changes only its own, not the parent's that shares its memory.
  if (a->reset_oom_score) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) ChildFail(a, kOomScore, errno);
    close(fd);
  }

  // Raw syscalls: glibc's setgroups/setresgid/setresuid broadcast the change to every
  // thread of the process (setxid), and the "process" here is our parent's memory.
  // Groups first, then gid, then uid: after setuid we no longer may change the others.
  if (a->set_credentials) {
    if (syscall(SYS_setgroups, a->ngroups, a->groups) < 0) ChildFail(a, kSetgroups, errno);
    if (syscall(SYS_setresgid, a->gid, a->gid, a->gid) < 0) ChildFail(a, kSetgid, errno);
    if (syscall(SYS_setresuid, a->uid, a->uid, a->uid) < 0) ChildFail(a, kSetuid, errno);
  }

  // The parent-death signal is cleared by credential changes, so it comes after them.
  // If the parent died before this point the signal will never come: check by hand.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) ChildFail(a, kPrctl, errno);
  if (getppid() != a->parent_pid) _exit(127);

  // Mark rather than close: the error pipe must stay open until execve succeeds.
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    for (int fd = 3; fd < 65536; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }

  sigset_t none;
  sigemptyset(&none);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof(uint64_t));

  // PATH search the way execvp does it, on paths built by the parent: missing entries
  // are skipped, EACCES is remembered in case nothing later succeeds. A command with a
  // '/' is no search: its own errno (ENOTDIR, ELOOP, ...) is the answer, as in execvp.
  int err = ENOENT;
  int at = -1;
  for (int i = 0; i < a->ncandidates; i++) {
    execve(a->candidates[i], a->argv, a->envp);
    int e = errno;
    if (!a->search) {
      err = e;
      at = i;
      break;
    }
    if (e == EACCES) {
      err = EACCES;
      at = i;
      continue;
    }
    if (e == ENOENT || e == ENOTDIR || e == ESTALE || e == ENODEV || e == ETIMEDOUT) {
      if (err != EACCES) at = i;
      continue;
    }
    err = e;
    at = i;
    break;
  }
  ChildFail(a, kExecve, err, at);
}

// Moves fd to a number >= 3 so that dup2 onto 0..2 in the child cannot clobber it.
int AboveStdio(int fd) {
  if (fd < 0 || fd >= 3) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return moved;
}

int DevNull() {
  static int fd = AboveStdio(open("/dev/null", O_RDWR | O_CLOEXEC));
  return fd;
}

// The parent's own oom_score_adj is not 0. One pread of a file kept open: per spawn,
// since an operator may change it (choom) while the daemon runs.
bool OomScoreAdjusted() {
  static int fd = AboveStdio(open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC));
  char buf[8] = {};
  if (fd < 0) return false;  // no /proc: nothing a child could reset either
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  return n > 0 && !(buf[0] == '0' && (n == 1 || buf[1] == '\n'));
}

void CloseAll(int* fds, int n) {
  for (int i = 0; i < n; i++) {
    if (fds[i] >= 0) close(fds[i]);
    fds[i] = -1;
  }
}

}  // namespace

bool Spawn(const SpawnRequest& req, SpawnResult* result, SpawnFailure* failure, FdSlots* slots) {
  auto fail = [&](int err, const char* syscall, const std::string& path = std::string()) {
    failure->err = err;
    failure->syscall = syscall;
    failure->path = path;
    return false;
  };

  // Pointer arrays into req's strings: built now, read-only in the child.
  std::vector<char*> argv, envp;
  std::vector<const char*> candidates;
  argv.reserve(req.argv.size() + 1);
  for (const auto& s : req.argv) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  if (!req.env_block.empty()) {
    char* block = const_cast<char*>(req.env_block.data());
    for (size_t at = 0, end = req.env_block.size(); at < end; at += strlen(block + at) + 1) envp.push_back(block + at);
  } else {
    envp.reserve(req.envp.size() + 1);
    for (const auto& s : req.envp) envp.push_back(const_cast<char*>(s.c_str()));
  }
  envp.push_back(nullptr);
  for (const auto& s : req.candidates) candidates.push_back(s.c_str());
  if (candidates.empty()) return fail(ENOENT, "execve", req.command);

  // parent[i]/child[i]: the two ends for stdio i; errpipe carries ChildError.
  int parent[3] = {-1, -1, -1}, child[3] = {-1, -1, -1}, errpipe[2] = {-1, -1};
  auto cleanup = [&]() {
    CloseAll(parent, 3);
    CloseAll(child, 3);
    CloseAll(errpipe, 2);
  };
  if (DevNull() < 0) return fail(errno, "open", "/dev/null");
  for (int i = 0; i < 3; i++) {
    if (req.stdio[i] != Stdio::kPipe) continue;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
      int e = errno;
      cleanup();
      return fail(e, "pipe2");
    }
    // stdin: the child reads p[0]; stdout/stderr: the child writes p[1].
    parent[i] = i == 0 ? p[1] : p[0];
    child[i] = AboveStdio(i == 0 ? p[0] : p[1]);
    if (i > 0 && req.pipe_size > 0) fcntl(parent[i], F_SETPIPE_SZ, req.pipe_size);
  }
  if (pipe2(errpipe, O_CLOEXEC) < 0) {
    int e = errno;
    cleanup();
    return fail(e, "pipe2");
  }
  errpipe[1] = AboveStdio(errpipe[1]);

  ChildArgs args{};
  args.argv = argv.data();
  args.envp = envp.data();
  args.candidates = candidates.data();
  args.ncandidates = static_cast<int>(candidates.size());
  args.search = req.command.find('/') == std::string::npos;
  args.cwd = req.cwd.empty() ? nullptr : req.cwd.c_str();
  for (int i = 0; i < 3; i++) args.stdio[i] = req.tty_fd >= 0 ? req.tty_fd : child[i] >= 0 ? child[i] : DevNull();
  // Merged: fd 2 is a second copy of stdout's write end (the parent reads one pipe).
  if (req.tty_fd < 0 && req.stdio[2] == Stdio::kStdout && child[1] >= 0) args.stdio[2] = child[1];
  args.tty_fd = req.tty_fd;
  args.err_fd = errpipe[1];
  args.njoins = req.ncgroup_joins < kMaxCgroupJoins ? req.ncgroup_joins : kMaxCgroupJoins;
  for (int i = 0; i < args.njoins; i++) args.joins[i] = {req.cgroup_joins[i].fd, req.cgroup_joins[i].fallback_fd};
  args.first_join = 0;
  args.reset_oom_score = OomScoreAdjusted();
  args.set_credentials = req.set_credentials;
  args.uid = req.uid;
  args.gid = req.gid;
  args.groups = req.groups.data();
  args.ngroups = req.groups.size();
  args.parent_pid = getpid();

  // A large fd table: hand the child its fds below the slots' limit and let it keep only
  // those (fd_slots.h). Freshly made fds take the lowest free numbers, so a high one
  // among them means the table is full up to there.
  int highest = errpipe[1];
  for (int i = 0; i < 3; i++) highest = std::max(highest, args.stdio[i]);
  if (slots != nullptr && slots->WorthIt(highest)) {
    // Placed into a copy, taken only if every fd found a slot (else the table is copied).
    ChildArgs placed = args;
    bool ok = true;
    auto place = [&](int* fd) {
      if (*fd < 0 || !ok) return;
      int to = slots->Place(*fd);
      if (to < 0)
        ok = false;
      else
        *fd = to;
    };
    for (int i = 0; i < 3; i++) place(&placed.stdio[i]);
    place(&placed.tty_fd);
    place(&placed.err_fd);
    for (int i = 0; i < placed.njoins; i++) {
      place(&placed.joins[i].fd);
      place(&placed.joins[i].fallback_fd);
    }
    if (ok) {
      placed.unshare_below = slots->limit();
      args = placed;
    } else {
      slots->Release();
    }
  }
  const unsigned long share_files = args.unshare_below > 0 ? CLONE_FILES : 0;

  // One stack per spawning thread, kept: the child runs on it only until its execve,
  // which returns this thread from the clone (CLONE_VFORK), and a munmap per spawn would
  // cost a TLB shootdown across the cores running our other threads, a fresh mapping
  // page faults as the child touches it.
  static thread_local void* kept_stack = nullptr;
  if (kept_stack == nullptr) {
    void* made = mmap(nullptr, kChildStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (made != MAP_FAILED) kept_stack = made;
  }
  void* stack = kept_stack == nullptr ? MAP_FAILED : kept_stack;
  if (stack == MAP_FAILED) {
    int e = errno;
    if (slots != nullptr) slots->Release();
    cleanup();
    return fail(e, "mmap");
  }
  char* stack_top = static_cast<char*>(stack) + kChildStackSize;

  // Block every signal while the child runs on our memory: a handler of ours running in
  // the child would corrupt the parent. The child unblocks just before execve.
  sigset_t all, old;
  sigfillset(&all);
  // The raw syscall, not pthread_sigmask (GLIBC_2.32; prebuilds load on 2.28). It is
  // per thread as well, and sigfillset already leaves out glibc's internal signals.
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof(uint64_t));

  int pidfd = -1;
  pid_t pid = -1;
  int clone_err = 0;
  if (req.cgroup_dir_fd >= 0) {
    // Atomic placement: the child is born in its cgroup and never writes cgroup.procs.
    args.first_join = 1;
    pid = Clone3IntoCgroup(req.cgroup_dir_fd, stack, kChildStackSize, ChildMain, &args, &pidfd, share_files);
    if (pid >= 0)
      result->used_clone3 = true;
    else
      args.first_join = 0;
  }
  if (pid < 0) {
    // SIGCHLD as the exit signal keeps the child an ordinary one for waitid.
    pid = clone(ChildMain, stack_top, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | share_files | SIGCHLD, &args, &pidfd);
    if (pid < 0 && (errno == EINVAL || errno == ENOSYS || errno == EPERM)) {
      // A sandbox that forbids CLONE_VM: fall back to a plain fork-like clone. The child
      // then has its own copy of everything above and reports through the same pipe. No
      // CLONE_FILES: without the vfork wait we would point the slots back at /dev/null
      // before the child had its own table (it gets a copy now, slots included).
      pid = clone(ChildMain, stack_top, CLONE_PIDFD | SIGCHLD, &args, &pidfd);
    }
    clone_err = pid < 0 ? errno : 0;
  }

  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof(uint64_t));
  // The child has its own table by now (or never will): the slots' references go, so
  // that only the child holds its pipe ends.
  if (slots != nullptr) slots->Release();
  CloseAll(child, 3);
  close(errpipe[1]);
  errpipe[1] = -1;

  if (pid < 0) {
    cleanup();
    return fail(clone_err, "clone");
  }

  // With CLONE_VFORK the child has already exec'd or exited, so this read returns at
  // once; in the fork fallback it waits for the exec.
  ChildError ce{};
  ssize_t n;
  do {
    n = read(errpipe[0], &ce, sizeof ce);
  } while (n < 0 && errno == EINTR);
  close(errpipe[0]);
  errpipe[0] = -1;

  if (n == static_cast<ssize_t>(sizeof ce)) {
    // The child exited without exec: reap our own pid (never waitpid(-1)).
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (pidfd >= 0) close(pidfd);
    cleanup();
    std::string path;
    if (ce.stage == kExecve) {
      path = ce.index >= 0 && ce.err != ENOENT ? req.candidates[ce.index] : req.command;
    } else if (ce.stage == kChdir) {
      path = req.cwd;
    } else if (ce.stage == kCgroup && ce.index >= 0 && ce.index < args.njoins) {
      path = req.cgroup_joins[ce.index].path;
    }
    return fail(ce.err, StageSyscall(ce.stage), path);
  }

  result->pid = pid;
  result->pidfd = pidfd;
  for (int i = 0; i < 3; i++) result->fds[i] = parent[i];
  return true;
}

}  // namespace sandproc
