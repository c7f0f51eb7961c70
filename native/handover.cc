#include "handover.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "errors.h"
#include "exit_watch.h"

namespace sandproc {
namespace {

std::vector<std::string> StringArray(Napi::Value v) {
  std::vector<std::string> out;
  Napi::Array arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(arr.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return lseek(fd, 0, SEEK_SET) == 0;
}

}  // namespace

Napi::Value HandoverExec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string file = info[0].As<Napi::String>().Utf8Value();
  std::vector<std::string> argv = StringArray(info[1]);
  std::vector<std::string> envp = StringArray(info[2]);
  Napi::Array keep = info[3].As<Napi::Array>();
  std::string state = info[4].As<Napi::String>().Utf8Value();

  // Without MFD_CLOEXEC: the new image reads it, then closes it.
  int memfd = static_cast<int>(syscall(SYS_memfd_create, "sandproc-handover", 0));
  if (memfd < 0) {
    ThrowSystemError(env, errno, "memfd_create");
    return env.Undefined();
  }
  if (!WriteAll(memfd, state)) {
    int err = errno == 0 ? EIO : errno;
    close(memfd);
    ThrowSystemError(env, err, "write");
    return env.Undefined();
  }
  // Each fd's flags as they were, so that a failed execve leaves everything as it found it.
  std::vector<std::pair<int, int>> saved;
  int err = 0;
  const char* failed = "fcntl";
  for (uint32_t i = 0; i < keep.Length() && err == 0; i++) {
    int fd = keep.Get(i).As<Napi::Number>().Int32Value();
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0) {
      err = errno;
      break;
    }
    saved.emplace_back(fd, flags);
  }
  if (err == 0) {
    envp.push_back("SANDPROC_HANDOVER=" + std::to_string(memfd));
    std::vector<char*> args = Pointers(argv);
    std::vector<char*> vars = Pointers(envp);
    // Ends every other thread of the process; the children stay ours (same pid).
    execve(file.c_str(), args.data(), vars.data());
    err = errno;
    failed = "execve";
  }
  for (auto& [fd, flags] : saved) fcntl(fd, F_SETFD, flags);
  close(memfd);
  ThrowSystemError(env, err, failed, failed == std::string("execve") ? file : std::string());
  return env.Undefined();
}

Napi::Value AdoptChild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  int pidfd = info[1].As<Napi::Number>().Int32Value();
  // Inherited without FD_CLOEXEC: a child spawned from here must not inherit it.
  fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  return ChildHandle::New(env, pid, pidfd, info[3].As<Napi::Function>(), StringArray(info[2]));
}

Napi::Value SetCloexec(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) ThrowSystemError(info.Env(), errno, "fcntl");
  return info.Env().Undefined();
}

Napi::Value ChildPidfd(const Napi::CallbackInfo& info) {
  ChildHandle* child = ChildHandle::Unwrap(info[0].As<Napi::Object>());
  return Napi::Number::New(info.Env(), child->pidfd());
}

}  // namespace sandproc
