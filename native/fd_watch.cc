#include "fd_watch.h"

#include <unistd.h>

#include <cerrno>

namespace sandproc {

FdWatch* FdWatch::Make(uv_loop_t* loop) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return nullptr;
  auto* w = new FdWatch();
  w->epfd_ = epfd;
  w->poll_ = new uv_poll_t;
  uv_poll_init(loop, w->poll_, epfd);
  w->poll_->data = w;
  uv_poll_start(w->poll_, UV_READABLE, OnReadable);
  // Only the watches keep the loop alive, each as its own handle did.
  uv_unref(reinterpret_cast<uv_handle_t*>(w->poll_));
  return w;
}

void FdWatch::Close() {
  uv_poll_stop(poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  poll_ = nullptr;
  close(epfd_);
  delete this;
}

uint64_t FdWatch::Add(int fd, uint32_t events, Callback cb, void* owner) {
  uint64_t id = next_id_++;
  struct epoll_event ev = {};
  ev.events = events;
  ev.data.u64 = id;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) return 0;
  Watch& w = watches_[id] = Watch{cb, owner, events, true, true};
  Count(w, 1);
  return id;
}

void FdWatch::Remove(uint64_t id, int fd) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return;
  Count(it->second, -1);
  if (it->second.active) epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  watches_.erase(it);
}

// Out of the epoll while paused, not left in with no events: a hang-up is reported
// whatever the mask, and would wake the loop on every turn.
void FdWatch::Pause(uint64_t id, int fd) {
  auto it = watches_.find(id);
  if (it == watches_.end() || !it->second.active) return;
  Count(it->second, -1);
  it->second.active = false;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

void FdWatch::Resume(uint64_t id, int fd) {
  auto it = watches_.find(id);
  if (it == watches_.end() || it->second.active) return;
  struct epoll_event ev = {};
  ev.events = it->second.events;
  ev.data.u64 = id;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) return;
  it->second.active = true;
  Count(it->second, 1);
}

void FdWatch::SetRef(uint64_t id, bool ref) {
  auto it = watches_.find(id);
  if (it == watches_.end() || it->second.ref == ref) return;
  Count(it->second, -1);
  it->second.ref = ref;
  Count(it->second, 1);
}

// `delta` of w's share in keeping the loop alive (nothing unless it is active and ref'd).
void FdWatch::Count(const Watch& w, int delta) {
  if (!w.active || !w.ref) return;
  int before = holding_;
  holding_ += delta;
  if (before == 0 && holding_ > 0) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
  if (before > 0 && holding_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
}

void FdWatch::OnReadable(uv_poll_t* handle, int status, int events) { static_cast<FdWatch*>(handle->data)->Dispatch(); }

void FdWatch::Dispatch() {
  // Level-triggered: what is left past these 64 wakes the loop again on its next turn.
  struct epoll_event events[64];
  int n;
  do {
    n = epoll_wait(epfd_, events, 64, 0);
  } while (n < 0 && errno == EINTR);
  for (int i = 0; i < n; i++) {
    // Looked up for each event: a callback may have removed any watch, or all of them.
    auto it = watches_.find(events[i].data.u64);
    if (it == watches_.end() || !it->second.active) continue;
    it->second.cb(it->second.owner);
  }
}

}  // namespace sandproc
