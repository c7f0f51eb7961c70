// Child setup and exec without fork's page-table copy: clone(CLONE_VM|CLONE_VFORK).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace sandproc {

// kStdout (stderr only): the same pipe as stdout, so both keep the order they were written in.
enum class Stdio { kNull, kPipe, kStdout };

// One cgroup the child joins before exec: it writes "0" to `fd` and, only if that
// fails, to `fallback_fd`. v1: `tasks` (moves the calling thread, which skips the
// global threadgroup lock) then `cgroup.procs`; v2: `cgroup.procs` alone.
struct CgroupJoin {
  int fd = -1;
  int fallback_fd = -1;
  std::string path;  // the cgroup's directory, for error messages
};

// One per v1 hierarchy a process is placed in (memory, pids, cpu), and one spare.
constexpr int kMaxCgroupJoins = 4;

// Everything the child needs, resolved in the parent before the clone: the child may
// only make raw syscalls on this data (it shares our memory and must not allocate).
struct SpawnRequest {
  std::vector<std::string> candidates;  // executable paths to try, in PATH order
  std::string command;                  // as given, for error messages
  std::vector<std::string> argv;
  std::vector<std::string> envp;  // "KEY=value"
  // Or all of them in one string, each entry NUL-terminated (used when non-empty).
  std::string env_block;
  std::string cwd;  // empty: inherit
  bool set_credentials = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  Stdio stdio[3] = {Stdio::kNull, Stdio::kPipe, Stdio::kPipe};
  CgroupJoin cgroup_joins[kMaxCgroupJoins];  // joined in order, the first ncgroup_joins
  int ncgroup_joins = 0;
  // v2: clone3(CLONE_INTO_CGROUP) target, when the kernel allows. It is the cgroup of
  // cgroup_joins[0], which the child then skips: it was born there.
  int cgroup_dir_fd = -1;
  int pipe_size = 0;  // F_SETPIPE_SZ for stdout/stderr; 0 keeps the default
  // A pty slave (>= 3, opened by the caller, which also closes it): the child's
  // controlling terminal and its fds 0-2; `stdio` is then ignored.
  int tty_fd = -1;
};

struct SpawnResult {
  pid_t pid = -1;
  int pidfd = -1;
  int fds[3] = {-1, -1, -1};  // parent ends of the pipes, -1 where /dev/null
  bool used_clone3 = false;
};

struct SpawnFailure {
  int err = 0;
  const char* syscall = "";
  std::string path;
};

class FdSlots;

// Returns false and fills `failure` when the program could not be started; then no
// process is left behind and no fd is leaked. `slots`: the calling thread's own
// (fd_slots.h), or null to copy the whole fd table into the child.
bool Spawn(const SpawnRequest& req, SpawnResult* result, SpawnFailure* failure, FdSlots* slots = nullptr);

}  // namespace sandproc
