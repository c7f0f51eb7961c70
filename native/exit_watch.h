// Watches one child's pidfd on the environment's own libuv loop and reaps that pid
// only. No SIGCHLD handler, no waitpid(-1): libuv owns SIGCHLD and reaps its own pids,
// so Node's child_process keeps working beside us.
#pragma once

#include <napi.h>
#include <uv.h>

#include <sys/types.h>

#include <string>
#include <unordered_set>
#include <vector>

#include "fd_watch.h"

namespace sandproc {

class ChildHandle : public Napi::ObjectWrap<ChildHandle> {
 public:
  static Napi::Function Init(Napi::Env env);
  // Takes ownership of pidfd. on_exit(code|null, signal|null, userUs, sysUs, texts) is
  // called once, after the process group has been killed and the main process reaped;
  // texts[i] is the content of exit_reads[i] read right after the reap (a cgroup's
  // counters), null where it could not be read.
  static Napi::Object New(Napi::Env env, pid_t pid, int pidfd, Napi::Function on_exit,
                          std::vector<std::string> exit_reads = {});

  explicit ChildHandle(const Napi::CallbackInfo& info);
  ~ChildHandle() override;

  // Env teardown: stop watching (the children die by their parent-death signal).
  void Detach();

  // What a live upgrade hands over (handover.cc); -1 once reaped.
  int pidfd() const { return pidfd_; }

 private:
  Napi::Value Signal(const Napi::CallbackInfo& info);
  Napi::Value KillGroup(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);

  void Start(pid_t pid, int pidfd, Napi::Function on_exit, std::vector<std::string> exit_reads);
  static void OnReadable(void* self);
  void Reap();
  void StopPolling();

  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool reaped_ = false;
  FdWatch* watch_ = nullptr;
  uint64_t watch_id_ = 0;  // 0 once not watched
  Napi::FunctionReference on_exit_;
  std::vector<std::string> exit_reads_;
  Napi::ObjectReference self_;  // keeps the JS object alive until the exit is delivered
  Napi::AsyncContext* context_ = nullptr;
};

// Per-environment state: the constructor and the live children to detach on teardown.
class Spawner;
class PipeReader;

struct AddonData {
  FdWatch* watch = nullptr;  // every pidfd and output pipe (fd_watch.h)
  Napi::FunctionReference child_ctor;
  std::unordered_set<PipeReader*> readers;
  Spawner* spawner = nullptr;  // created by the first spawn
  std::unordered_set<ChildHandle*> live;
};

}  // namespace sandproc
