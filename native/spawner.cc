#include "spawner.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "clone3.h"
#include "errors.h"
#include "exit_watch.h"

// GCC 12 gave condition_variable::wait a second symbol version (GLIBCXX_3.4.30, when it
// stopped being noexcept). Bind to the first (3.4.11), which every libstdc++ since GCC
// 4.4 has, so a prebuild made with GCC 12 loads on GCC 8's runtime (RHEL 8). The two
// differ only when the waiting thread is cancelled, and these threads never are.
#if defined(_GLIBCXX_RELEASE) && _GLIBCXX_RELEASE >= 12
__asm__(
    ".symver _ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE,"
    "_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE@GLIBCXX_3.4.11");
#endif

namespace sandproc {

Spawner::Spawner(napi_env env) : env_(env) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  async_ = new uv_async_t;
  uv_async_init(loop, async_, OnDone);
  async_->data = this;
  // Only pending spawns may keep the loop alive.
  uv_unref(reinterpret_cast<uv_handle_t*>(async_));
  for (auto& s : slots_) s = std::make_unique<FdSlots>();
}

// Started by the first spawn that cannot run inline: a supervisor that only ever spawns
// one at a time never needs them.
void Spawner::StartThreads() {
  // The thread never runs JS and takes no signals: they belong to the JS thread.
  sigset_t all, old;
  sigfillset(&all);
  // Raw syscall: pthread_sigmask is GLIBC_2.32 and the prebuilds load on 2.28.
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof(uint64_t));
  // Two threads: while one is suspended in a vfork until its child execs (the exec's
  // work runs on the other core), the next spawn can proceed. More gain nothing on the
  // small machines this runs on and cost a stack each.
  unsigned n = std::thread::hardware_concurrency() > 1 ? 2 : 1;
  for (unsigned i = 0; i < n; i++) threads_.emplace_back([this, i] { Run(slots_[i + 1].get()); });
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof(uint64_t));
}

void Spawner::Submit(SpawnJob* job) {
  bool alone = in_flight_++ == 0;
  if (alone) uv_ref(reinterpret_cast<uv_handle_t*>(async_));
  // A lone spawn whose join cannot wait on the kernel's global cgroup lock costs the JS
  // thread only the vfork until exec (about what handing it over costs), and it saves
  // two thread wake-ups, each of which can cost a whole time slice on a loaded machine.
  // Bursts still go to the threads, which run beside the JS thread.
  if (job->js_thread || (alone && job->inline_ok && !(job->req.cgroup_dir_fd >= 0 && !Clone3Usable()))) {
    job->ok = Spawn(job->req, &job->result, &job->failure, slots_[0].get());
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_.push_back(job);
    }
    uv_async_send(async_);
    return;
  }
  if (threads_.empty()) StartThreads();
  {
    std::lock_guard<std::mutex> lock(mu_);
    todo_.push_back(job);
  }
  cv_.notify_one();
}

void Spawner::Run(FdSlots* slots) {
  for (;;) {
    SpawnJob* job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !todo_.empty(); });
      if (stopping_) return;
      job = todo_.front();
      todo_.pop_front();
    }
    job->ok = Spawn(job->req, &job->result, &job->failure, slots);
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_.push_back(job);
    }
    uv_async_send(async_);
  }
}

void Spawner::OnDone(uv_async_t* handle) { static_cast<Spawner*>(handle->data)->Deliver(); }

void Spawner::Deliver() {
  std::deque<SpawnJob*> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done.swap(done_);
  }
  Napi::Env env(env_);
  for (SpawnJob* job : done) {
    Napi::HandleScope scope(env);
    if (--in_flight_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(async_));
    napi_value args[2];
    if (job->ok) {
      Napi::Object out = Napi::Object::New(env);
      out.Set("pid", Napi::Number::New(env, job->result.pid));
      Napi::Array fds = Napi::Array::New(env, 3);
      for (uint32_t i = 0; i < 3; i++) fds.Set(i, Napi::Number::New(env, job->result.fds[i]));
      out.Set("fds", fds);
      out.Set("clone3", Napi::Boolean::New(env, job->result.used_clone3));
      out.Set("child", ChildHandle::New(env, job->result.pid, job->result.pidfd, job->on_exit.Value(),
                                        std::move(job->exit_reads)));
      args[0] = env.Null();
      args[1] = out;
    } else {
      args[0] = SystemError(env, job->failure.err, job->failure.syscall, job->failure.path).Value();
      args[1] = env.Undefined();
    }
    Napi::FunctionReference cb = std::move(job->on_spawned);
    delete job;
    // Raw call, as in exit_watch.cc: a JS exception must not become a fatal error here.
    napi_value result;
    napi_value recv = env.Global();
    napi_status status = napi_make_callback(env, nullptr, recv, cb.Value(), 2, args, &result);
    if (status == napi_pending_exception) {
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
    }
  }
}

void Spawner::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  // Jobs never delivered: their children die by the parent-death signal now that the
  // thread is gone; their pipe ends and pidfds are ours to close.
  for (auto* queue : {&todo_, &done_}) {
    for (SpawnJob* job : *queue) {
      if (job->ok) {
        for (int fd : job->result.fds) {
          if (fd >= 0) close(fd);
        }
        if (job->result.pidfd >= 0) close(job->result.pidfd);
      }
      job->on_spawned.Reset();
      job->on_exit.Reset();
      delete job;
    }
    queue->clear();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(async_), [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
  async_ = nullptr;
}

}  // namespace sandproc
