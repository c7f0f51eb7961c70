// Pseudo-terminals for PTY sessions: the pair is opened and set up in the parent before
// the clone (the vfork child only makes it its controlling terminal), and the master is
// written without ever blocking the loop.
#pragma once

#include <napi.h>
#include <uv.h>

#include <deque>
#include <string>

namespace sandproc {

// openPty({rows, cols, uid, gid}) -> {master, slave, path}; both fds close-on-exec.
Napi::Value OpenPty(const Napi::CallbackInfo& info);
// resizePty(master, rows, cols): TIOCSWINSZ; the kernel sends SIGWINCH to the
// foreground process group itself.
Napi::Value ResizePty(const Napi::CallbackInfo& info);

// Writes to a pty master on the loop. A full terminal (EAGAIN) queues the rest and waits
// for POLLOUT, so the JS thread never blocks on a program that does not read its input.
// Polls its own dup of the master: libuv allows one poll handle per fd number.
// onDrain tells JS when input that had to wait has all gone, so that a caller bounding
// what it queues here knows when to take more.
class PtyWriter : public Napi::ObjectWrap<PtyWriter> {
 public:
  static Napi::Function Init(Napi::Env env);
  // new PtyWriter(masterFd, onDrain?): dups the fd; the caller keeps its own. onDrain()
  // follows a write that had to wait, once the queue is empty (written, or dropped at EIO).
  explicit PtyWriter(const Napi::CallbackInfo& info);
  ~PtyWriter() override;

 private:
  // write(chunk: Uint8Array) -> bytes still queued; 0 once the terminal is gone (EIO).
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  static void OnWritable(uv_poll_t* handle, int status, int events);
  void Flush();
  void Stop();
  void Drained();

  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;  // freed in its close callback
  bool polling_ = false;
  std::deque<std::string> queue_;
  size_t offset_ = 0;  // bytes of queue_.front() already written
  size_t queued_ = 0;
  Napi::FunctionReference on_drain_;
  Napi::AsyncContext* context_ = nullptr;
};

}  // namespace sandproc
