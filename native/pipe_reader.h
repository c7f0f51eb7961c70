// Reads a child's output pipe on the environment's loop and hands JS each read as a
// Uint8Array, with none of a net.Socket's stream machinery per pipe: two of those cost
// about 70 µs of every spawn.
#pragma once

#include <napi.h>
#include <uv.h>

#include "fd_watch.h"

namespace sandproc {

class PipeReader : public Napi::ObjectWrap<PipeReader> {
 public:
  static Napi::Function Init(Napi::Env env);
  // new PipeReader(fd, onData(chunk: Uint8Array), onEnd(errno: number), terminal?): takes
  // the fd. terminal: the fd is a pty master (EIO is its EOF, reads are short).
  explicit PipeReader(const Napi::CallbackInfo& info);
  ~PipeReader() override;
  // Env teardown: stop reading, close the fd, call nothing.
  void Detach();

 private:
  Napi::Value Pause(const Napi::CallbackInfo& info);
  Napi::Value Resume(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  static void OnReadable(void* self);
  void StopWatching();
  void Read();
  bool ReadTerminal(Napi::Env env);
  void Finish(int err, bool notify);
  void Call(Napi::FunctionReference& fn, napi_value arg);

  int fd_ = -1;
  FdWatch* watch_ = nullptr;
  uint64_t watch_id_ = 0;  // 0 once not watched
  bool polling_ = false;
  bool terminal_ = false;
  Napi::FunctionReference on_data_;
  Napi::FunctionReference on_end_;
  Napi::ObjectReference self_;  // alive until EOF or close
  Napi::AsyncContext* context_ = nullptr;
};

}  // namespace sandproc
