// Pseudo-terminal setup in the parent, as login and sshd do it, and non-blocking writes
// to the master. Everything here runs on the JS thread and takes microseconds.
#include "pty.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "errors.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace sandproc {
namespace {

// The spawn's dup2 onto 0..2 must never clobber a source fd.
int AboveStdio(int fd) {
  if (fd < 0 || fd >= 3) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return moved;
}

// The `tty` group, as login and sshd give it to a terminal; -1 when there is none.
gid_t TtyGroup() {
  std::vector<char> buf(4096);
  struct group grp;
  struct group* found = nullptr;
  while (getgrnam_r("tty", &grp, buf.data(), buf.size(), &found) == ERANGE && buf.size() < (1 << 20)) {
    buf.resize(buf.size() * 2);
  }
  return found != nullptr ? found->gr_gid : static_cast<gid_t>(-1);
}

// The slave end without a path where the kernel can (TIOCGPTPEER, 4.13: no race with a
// devpts remount, no lookup); else the classic ptsname path.
int OpenSlave(int master, std::string* path) {
  unsigned int n = 0;
  if (ioctl(master, TIOCGPTN, &n) == 0) *path = "/dev/pts/" + std::to_string(n);
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave >= 0 || (errno != EINVAL && errno != ENOTTY)) return slave;
  char name[128];
  if (ptsname_r(master, name, sizeof name) != 0) return -1;
  *path = name;
  return open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

}  // namespace

Napi::Value OpenPty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object opts = info[0].As<Napi::Object>();
  unsigned rows = opts.Get("rows").As<Napi::Number>().Uint32Value();
  unsigned cols = opts.Get("cols").As<Napi::Number>().Uint32Value();
  uid_t uid = opts.Get("uid").As<Napi::Number>().Uint32Value();
  gid_t gid = opts.Get("gid").As<Napi::Number>().Uint32Value();

  // O_NOCTTY: the supervisor must never acquire the terminal as its own.
  int master = AboveStdio(open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (master < 0) {
    ThrowSystemError(env, errno, "open", "/dev/ptmx");
    return env.Undefined();
  }
  std::string path;
  int slave = -1;
  const char* failed = nullptr;
  int unlock = 0;
  struct winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(cols);
  struct termios tio;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) failed = "ioctl";
  if (failed == nullptr && (slave = AboveStdio(OpenSlave(master, &path))) < 0) failed = "open";
  // A new terminal is 0x0 until told otherwise, and Linux leaves IUTF8 off: erase
  // would then cut multibyte characters in half in canonical mode.
  if (failed == nullptr && ioctl(slave, TIOCSWINSZ, &ws) < 0) failed = "ioctl";
  if (failed == nullptr && tcgetattr(slave, &tio) < 0) failed = "tcgetattr";
  if (failed == nullptr) {
    tio.c_iflag |= IUTF8;
    if (tcsetattr(slave, TCSANOW, &tio) < 0) failed = "tcsetattr";
  }
  if (failed == nullptr) {
    // The user's own terminal, writable by the tty group only (write(1), wall), as
    // login and sshd leave it. Without privileges only our own uid is possible, and
    // devpts already gave us that.
    gid_t tty = TtyGroup();
    if (fchown(slave, uid, tty != static_cast<gid_t>(-1) ? tty : gid) < 0 && !(errno == EPERM && uid == geteuid())) {
      failed = "fchown";
    } else if (fchmod(slave, 0620) < 0) {
      failed = "fchmod";
    }
  }
  if (failed != nullptr) {
    int e = errno;
    if (slave >= 0) close(slave);
    close(master);
    ThrowSystemError(env, e, failed, path);
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("master", Napi::Number::New(env, master));
  out.Set("slave", Napi::Number::New(env, slave));
  out.Set("path", Napi::String::New(env, path));
  return out;
}

Napi::Value ResizePty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  ws.ws_col = static_cast<unsigned short>(info[2].As<Napi::Number>().Uint32Value());
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) ThrowSystemError(env, errno, "ioctl");
  return env.Undefined();
}

Napi::Function PtyWriter::Init(Napi::Env env) {
  return DefineClass(env, "PtyWriter",
                     {InstanceMethod<&PtyWriter::Write>("write"), InstanceMethod<&PtyWriter::Close>("close")});
}

PtyWriter::PtyWriter(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PtyWriter>(info) {
  Napi::Env env = info.Env();
  fd_ = fcntl(info[0].As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 3);
  if (fd_ < 0) {
    ThrowSystemError(env, errno, "fcntl");
    return;
  }
  // O_NONBLOCK belongs to the open file, so the reader's fd shares it; set it anyway.
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  poll_ = new uv_poll_t;
  uv_poll_init(loop, poll_, fd_);
  poll_->data = this;
  if (info.Length() > 1 && info[1].IsFunction()) {
    on_drain_ = Napi::Persistent(info[1].As<Napi::Function>());
    context_ = new Napi::AsyncContext(env, "sandproc:pty-input", info.This().As<Napi::Object>());
  }
  // Input nobody reads must not keep the process alive; the session's reader does.
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
}

PtyWriter::~PtyWriter() {
  Stop();
  delete context_;
}

Napi::Value PtyWriter::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) return Napi::Number::New(env, 0);
  Napi::Uint8Array chunk = info[0].As<Napi::Uint8Array>();
  if (chunk.ByteLength() > 0) {
    queue_.emplace_back(reinterpret_cast<const char*>(chunk.Data()), chunk.ByteLength());
    queued_ += chunk.ByteLength();
    if (queue_.size() == 1) Flush();
  }
  return Napi::Number::New(env, static_cast<double>(queued_));
}

void PtyWriter::OnWritable(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<PtyWriter*>(handle->data);
  if (self == nullptr) return;
  self->Flush();
  if (self->queue_.empty()) self->Drained();
}

// Only from the poll callback: never re-entered from inside a JS write() call.
void PtyWriter::Drained() {
  if (on_drain_.IsEmpty() || context_ == nullptr) return;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  napi_value result;
  napi_status status = napi_make_callback(env, *context_, Value(), on_drain_.Value(), 0, nullptr, &result);
  if (status == napi_pending_exception) {
    napi_value e;
    if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_fatal_exception(env, e);
  }
}

void PtyWriter::Flush() {
  while (!queue_.empty() && fd_ >= 0) {
    const std::string& front = queue_.front();
    ssize_t n = write(fd_, front.data() + offset_, front.size() - offset_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (!polling_) uv_poll_start(poll_, UV_WRITABLE, OnWritable);
      polling_ = true;
      return;
    }
    if (n < 0) {
      // EIO: the terminal hung up (its program is gone); input has nobody to go to.
      queue_.clear();
      offset_ = queued_ = 0;
      break;
    }
    offset_ += static_cast<size_t>(n);
    queued_ -= static_cast<size_t>(n);
    if (offset_ == front.size()) {
      queue_.pop_front();
      offset_ = 0;
    }
  }
  if (polling_ && poll_ != nullptr) uv_poll_stop(poll_);
  polling_ = false;
}

void PtyWriter::Stop() {
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  queue_.clear();
  offset_ = queued_ = 0;
  on_drain_.Reset();
}

Napi::Value PtyWriter::Close(const Napi::CallbackInfo& info) {
  Stop();
  return info.Env().Undefined();
}

}  // namespace sandproc
