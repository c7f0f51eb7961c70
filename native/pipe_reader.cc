#include "pipe_reader.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "exit_watch.h"

namespace sandproc {
namespace {

constexpr size_t kReadSize = 64 * 1024;
// Every read lands here first; only the JS thread reads.
thread_local char scratch[kReadSize];

}  // namespace

Napi::Function PipeReader::Init(Napi::Env env) {
  return DefineClass(env, "PipeReader",
                     {InstanceMethod<&PipeReader::Pause>("pause"), InstanceMethod<&PipeReader::Resume>("resume"),
                      InstanceMethod<&PipeReader::Ref>("ref"), InstanceMethod<&PipeReader::Unref>("unref"),
                      InstanceMethod<&PipeReader::Close>("close")});
}

PipeReader::PipeReader(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PipeReader>(info) {
  Napi::Env env = info.Env();
  fd_ = info[0].As<Napi::Number>().Int32Value();
  on_data_ = Napi::Persistent(info[1].As<Napi::Function>());
  on_end_ = Napi::Persistent(info[2].As<Napi::Function>());
  terminal_ = info.Length() > 3 && info[3].ToBoolean().Value();
  self_ = Napi::Persistent(info.This().As<Napi::Object>());
  context_ = new Napi::AsyncContext(env, "sandproc:pipe", info.This().As<Napi::Object>());
  env.GetInstanceData<AddonData>()->readers.insert(this);
  // The reads below need a non-blocking fd.
  int on = 1;
  ioctl(fd_, FIONBIO, &on);
  watch_ = env.GetInstanceData<AddonData>()->watch;
  watch_id_ = watch_->Add(fd_, EPOLLIN | EPOLLRDHUP, OnReadable, this);
  polling_ = true;
}

PipeReader::~PipeReader() {
  Finish(0, false);
  delete context_;
}

void PipeReader::OnReadable(void* self) { static_cast<PipeReader*>(self)->Read(); }

void PipeReader::StopWatching() {
  if (watch_id_ == 0) return;
  watch_->Remove(watch_id_, fd_);
  watch_id_ = 0;
}

void PipeReader::Read() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  // Reads of up to 64 KiB, each handed to JS at once, until the pipe is drained (as
  // libuv's own stream reads do, at most 32 a wake-up): the writer refills the pipe while
  // JS splits a chunk. Batching several reads into one bigger Buffer measured slower.
  // Each read lands in a scratch buffer and is copied into a Buffer of exactly its size:
  // a fresh 64 KiB ArrayBuffer per read would be zero-filled first, even for the read
  // that only finds EOF (every process ends with one per pipe), and would hold 64 KiB
  // of external memory for a short line.
  if (terminal_) {
    if (ReadTerminal(env) && fd_ >= 0) Finish(0, true);
    return;
  }
  int err = 0;
  bool eof = false;
  for (int i = 0; i < 32 && fd_ >= 0 && polling_; i++) {
    ssize_t n;
    do {
      n = read(fd_, scratch, kReadSize);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      // Taken now: a JS call would change errno.
      if (n < 0 && errno != EAGAIN) err = errno;
      eof = n == 0;
      break;
    }
    napi_value buf;
    void* copy = nullptr;
    if (napi_create_buffer_copy(env, static_cast<size_t>(n), scratch, &copy, &buf) != napi_ok) break;
    Call(on_data_, buf);
    if (static_cast<size_t>(n) < kReadSize) break;  // drained for now
  }
  // onData may have closed us.
  if (fd_ >= 0 && (eof || err != 0)) Finish(err, true);
}

// A pty master hands out at most a few KiB per read (the line discipline's buffer), so
// a short read says nothing about what is left: read until EAGAIN, and copy each read
// into a Buffer of its own size (a 64 KiB ArrayBuffer per 4 KiB read would multiply the
// memory of held output by 16). EIO is the end: every slave fd is closed and everything
// written before has been read. Returns true at the end.
bool PipeReader::ReadTerminal(Napi::Env env) {
  for (int i = 0; i < 32 && fd_ >= 0 && polling_; i++) {
    ssize_t n;
    do {
      n = read(fd_, scratch, kReadSize);
    } while (n < 0 && errno == EINTR);
    if (n == 0 || (n < 0 && errno == EIO)) return true;
    if (n < 0) return errno != EAGAIN;
    napi_value buf;
    void* copy = nullptr;
    if (napi_create_buffer_copy(env, static_cast<size_t>(n), scratch, &copy, &buf) != napi_ok) return false;
    Call(on_data_, buf);
  }
  return false;
}

void PipeReader::Call(Napi::FunctionReference& fn, napi_value arg) {
  if (fn.IsEmpty()) return;
  Napi::Env env = Env();
  napi_value result;
  napi_status status = napi_make_callback(env, *context_, Value(), fn.Value(), 1, &arg, &result);
  if (status == napi_pending_exception) {
    napi_value e;
    if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_fatal_exception(env, e);
  }
}

// Stops reading and closes the fd; notify: tell JS (EOF or a read error).
void PipeReader::Finish(int err, bool notify) {
  StopWatching();
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
    Napi::Env env = Env();
    if (notify) {
      Napi::HandleScope scope(env);
      Call(on_end_, Napi::Number::New(env, err));
    }
    env.GetInstanceData<AddonData>()->readers.erase(this);
  }
  on_data_.Reset();
  on_end_.Reset();
  self_.Reset();
}

void PipeReader::Detach() {
  StopWatching();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  on_data_.Reset();
  on_end_.Reset();
  self_.Reset();
}

Napi::Value PipeReader::Pause(const Napi::CallbackInfo& info) {
  if (watch_id_ != 0 && polling_) watch_->Pause(watch_id_, fd_);
  polling_ = false;
  return info.Env().Undefined();
}

Napi::Value PipeReader::Resume(const Napi::CallbackInfo& info) {
  if (watch_id_ != 0 && !polling_) watch_->Resume(watch_id_, fd_);
  polling_ = true;
  return info.Env().Undefined();
}

Napi::Value PipeReader::Ref(const Napi::CallbackInfo& info) {
  if (watch_id_ != 0) watch_->SetRef(watch_id_, true);
  return info.Env().Undefined();
}

Napi::Value PipeReader::Unref(const Napi::CallbackInfo& info) {
  if (watch_id_ != 0) watch_->SetRef(watch_id_, false);
  return info.Env().Undefined();
}

// close(): give up on the pipe (the drain grace ran out); no onEnd call.
Napi::Value PipeReader::Close(const Napi::CallbackInfo& info) {
  if (fd_ >= 0) Finish(0, false);
  return info.Env().Undefined();
}

}  // namespace sandproc
