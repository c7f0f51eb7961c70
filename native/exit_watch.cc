#include "exit_watch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "errors.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace sandproc {
namespace {

// A small kernel-generated file (a cgroup counter) in one read: open, read, close, with
// no fstat and no buffer sized from it as fs.readFileSync does, on the exit's critical
// path. Null when it cannot be opened or read. Only the first 4 KiB: every counter file
// fits, and a cgroup.procs longer than that is read again in full by the caller.
Napi::Value ReadSmall(Napi::Env env, const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return env.Null();
  char buf[4096];
  ssize_t n;
  do {
    n = read(fd, buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  close(fd);
  if (n < 0) return env.Null();
  return Napi::String::New(env, buf, static_cast<size_t>(n));
}

}  // namespace

Napi::Function ChildHandle::Init(Napi::Env env) {
  return DefineClass(
      env, "ChildHandle",
      {InstanceMethod<&ChildHandle::Signal>("signal"), InstanceMethod<&ChildHandle::KillGroup>("killGroup"),
       InstanceMethod<&ChildHandle::Ref>("ref"), InstanceMethod<&ChildHandle::Unref>("unref")});
}

Napi::Object ChildHandle::New(Napi::Env env, pid_t pid, int pidfd, Napi::Function on_exit,
                              std::vector<std::string> exit_reads) {
  Napi::Object obj = env.GetInstanceData<AddonData>()->child_ctor.New({});
  ChildHandle::Unwrap(obj)->Start(pid, pidfd, on_exit, std::move(exit_reads));
  return obj;
}

ChildHandle::ChildHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ChildHandle>(info) {}

ChildHandle::~ChildHandle() {
  StopPolling();
  if (pidfd_ >= 0) close(pidfd_);
  delete context_;
}

void ChildHandle::Start(pid_t pid, int pidfd, Napi::Function on_exit, std::vector<std::string> exit_reads) {
  Napi::Env env = Env();
  exit_reads_ = std::move(exit_reads);
  pid_ = pid;
  pidfd_ = pidfd;
  on_exit_ = Napi::Persistent(on_exit);
  self_ = Napi::Persistent(Value());
  context_ = new Napi::AsyncContext(env, "sandproc:child", Value());
  env.GetInstanceData<AddonData>()->live.insert(this);

  watch_ = env.GetInstanceData<AddonData>()->watch;
  watch_id_ = watch_->Add(pidfd_, EPOLLIN, OnReadable, this);
}

void ChildHandle::StopPolling() {
  if (watch_id_ == 0) return;
  watch_->Remove(watch_id_, pidfd_);
  watch_id_ = 0;
}

void ChildHandle::Detach() {
  StopPolling();
  on_exit_.Reset();
  self_.Reset();
}

void ChildHandle::OnReadable(void* self) { static_cast<ChildHandle*>(self)->Reap(); }

void ChildHandle::Reap() {
  // Whatever the main process left in its group dies with it. The pid cannot have been
  // reused: it is a zombie until the waitid below, so -pid is still our group.
  kill(-pid_, SIGKILL);

  siginfo_t si = {};
  struct rusage ru = {};
  // The raw syscall's fifth argument returns the rusage that glibc's waitid drops.
  long r = syscall(SYS_waitid, P_PIDFD, pidfd_, &si, WEXITED | WNOHANG, &ru);
  if (r < 0 && errno == EINTR) return;   // still readable: the loop calls again
  if (r == 0 && si.si_pid == 0) return;  // woken early; not exited yet
  reaped_ = true;
  StopPolling();
  close(pidfd_);
  pidfd_ = -1;

  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  auto& live = env.GetInstanceData<AddonData>()->live;
  live.erase(this);

  Napi::Value code = env.Null(), sig = env.Null();
  if (r == 0) {
    if (si.si_code == CLD_EXITED) {
      code = Napi::Number::New(env, si.si_status);
    } else {
      sig = Napi::Number::New(env, si.si_status);
    }
  }
  double user_us = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec;
  double sys_us = ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
  // Right after the reap, as the JS layer would have read them, minus its overhead.
  Napi::Array texts = Napi::Array::New(env, exit_reads_.size());
  for (uint32_t i = 0; i < exit_reads_.size(); i++) texts.Set(i, ReadSmall(env, exit_reads_[i]));
  Napi::FunctionReference cb = std::move(on_exit_);
  napi_value argv[] = {code, sig, Napi::Number::New(env, user_us), Napi::Number::New(env, sys_us), texts};
  napi_value result;
  // Raw call: during environment teardown the loop still runs but JS cannot, and the
  // wrapper would turn that refusal into a fatal error. Then there is nobody to tell.
  napi_status status = napi_make_callback(env, *context_, Value(), cb.Value(), 5, argv, &result);
  if (status == napi_pending_exception) {
    napi_value err;
    if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
  }
  self_.Reset();
}

// signal(sig): to the main process through the pidfd, so a reused pid is never hit.
Napi::Value ChildHandle::Signal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sig = info[0].As<Napi::Number>().Int32Value();
  if (reaped_ || pidfd_ < 0) return Napi::Boolean::New(env, false);
  if (syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0) < 0) {
    if (errno == ESRCH) return Napi::Boolean::New(env, false);
    ThrowSystemError(env, errno, "pidfd_send_signal");
    return env.Undefined();
  }
  return Napi::Boolean::New(env, true);
}

// killGroup(sig): to the whole process group, only while the leader is unreaped (its
// pid, and so the group id, cannot be reused before that).
Napi::Value ChildHandle::KillGroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sig = info[0].As<Napi::Number>().Int32Value();
  if (reaped_) return Napi::Boolean::New(env, false);
  return Napi::Boolean::New(env, kill(-pid_, sig) == 0);
}

Napi::Value ChildHandle::Ref(const Napi::CallbackInfo& info) {
  if (watch_id_ != 0) watch_->SetRef(watch_id_, true);
  return info.Env().Undefined();
}

Napi::Value ChildHandle::Unref(const Napi::CallbackInfo& info) {
  if (watch_id_ != 0) watch_->SetRef(watch_id_, false);
  return info.Env().Undefined();
}

}  // namespace sandproc
