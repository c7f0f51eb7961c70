// Spawns on dedicated long-lived threads (two where there are two cores), so that the JS thread never waits for a
// clone: vfork suspends only the calling thread, and a cgroup join that takes the
// global threadgroup lock (v1 cgroup.procs, the fallback of tasks) can wait a whole RCU
// grace period (about 10 ms) when no cgroup write happened recently. The thread lives as long as the environment, which
// matters: PR_SET_PDEATHSIG fires when the parent *thread* exits.
#pragma once

#include <napi.h>
#include <uv.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "fd_slots.h"
#include "spawn.h"

namespace sandproc {

struct SpawnJob {
  SpawnRequest req;
  // The caller's judgement that the child's cgroup join takes no global lock (no
  // cgroup, v1 `tasks` on a kernel that skips the lock, v2 clone3): then, with nothing
  // else in flight, the spawn runs right here on the JS thread (see Submit).
  bool inline_ok = false;
  // Always on the JS thread: a supervisor that can hand over (handover.cc) keeps every
  // child a child of the thread that survives its execve, since PR_SET_PDEATHSIG fires
  // when the parent thread exits, and execve ends the spawner threads.
  bool js_thread = false;
  SpawnResult result;
  SpawnFailure failure;
  bool ok = false;
  Napi::FunctionReference on_spawned;   // JS thread only
  Napi::FunctionReference on_exit;      // JS thread only
  std::vector<std::string> exit_reads;  // files read right after the reap (ChildHandle)
};

class Spawner {
 public:
  explicit Spawner(napi_env env);
  // Takes ownership; the result comes back through the job's on_spawned on the JS thread,
  // always from a later loop turn, never from inside Submit.
  void Submit(SpawnJob* job);
  // Environment teardown: stops the thread and drops undelivered results.
  void Stop();

 private:
  void Run(FdSlots* slots);
  void StartThreads();
  static void OnDone(uv_async_t* handle);
  void Deliver();

  napi_env env_;
  uv_async_t* async_ = nullptr;  // freed in its close callback
  std::vector<std::thread> threads_;
  // One set per context that spawns (this thread inline, then each spawner thread),
  // reserved when the spawner is made, while fd numbers are still low.
  std::unique_ptr<FdSlots> slots_[3];
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<SpawnJob*> todo_;
  std::deque<SpawnJob*> done_;
  size_t in_flight_ = 0;  // JS thread only: jobs submitted and not yet delivered
  bool stopping_ = false;
};

}  // namespace sandproc
