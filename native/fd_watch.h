// One epoll of our own per environment, watched by a single uv_poll on the loop, for
// every child's pidfd and output pipes. Each fd costs one epoll_ctl to add and one to
// remove, where a uv_poll apiece costs six (two to check the fd at init, the add, two
// deletes at stop and close) and an ioctl: 18 epoll_ctl per spawn with two pipes.
#pragma once

#include <sys/epoll.h>
#include <uv.h>

#include <cstdint>
#include <unordered_map>

namespace sandproc {

class FdWatch {
 public:
  using Callback = void (*)(void* owner);
  // Null when no epoll could be made (then callers have nothing to watch with).
  static FdWatch* Make(uv_loop_t* loop);
  // Env teardown: every watch must be removed already.
  void Close();

  // Calls cb(owner) on the loop while fd is readable (or hung up); 0 on failure (errno).
  uint64_t Add(int fd, uint32_t events, Callback cb, void* owner);
  // Stops watching, before the caller closes fd (another process may still hold its
  // file, and then a closed fd would stay in the epoll).
  void Remove(uint64_t id, int fd);
  // Paused: no callbacks, and it keeps the loop alive no more.
  void Pause(uint64_t id, int fd);
  void Resume(uint64_t id, int fd);
  // Whether this watch keeps the loop alive while active (as uv_ref/uv_unref).
  void SetRef(uint64_t id, bool ref);

 private:
  struct Watch {
    Callback cb;
    void* owner;
    uint32_t events;
    bool active;
    bool ref;
  };
  FdWatch() = default;
  static void OnReadable(uv_poll_t* handle, int status, int events);
  void Dispatch();
  void Count(const Watch& w, int delta);

  int epfd_ = -1;
  uv_poll_t* poll_ = nullptr;  // freed in its close callback
  uint64_t next_id_ = 1;
  // By id, not by fd: an event of a watch removed during the same dispatch (or of a
  // reused fd number) finds nothing and is dropped.
  std::unordered_map<uint64_t, Watch> watches_;
  int holding_ = 0;  // active watches with ref: the uv_poll is ref'd while > 0
};

}  // namespace sandproc
