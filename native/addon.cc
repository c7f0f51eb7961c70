// Module init and the JS-facing argument conversion only; the work is in spawn.cc,
// exit_watch.cc and user.cc.
#include <napi.h>

#include <cerrno>

#include "errors.h"
#include "exit_watch.h"
#include "handover.h"
#include "pipe_reader.h"
#include "pty.h"
#include "spawn.h"
#include "spawner.h"
#include "user.h"
#include "watchdog.h"

namespace sandproc {
namespace {

std::vector<std::string> Strings(Napi::Object opts, const char* key) {
  std::vector<std::string> out;
  Napi::Array arr = opts.Get(key).As<Napi::Array>();
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(arr.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

int Int(Napi::Object opts, const char* key, int fallback) {
  Napi::Value v = opts.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
}

// spawn(opts, onSpawned, onExit): queues the spawn on the spawner thread;
// onSpawned(err, { pid, fds: [stdin, stdout, stderr], child, clone3 }) follows on this
// thread, onExit(code, signal, userUs, sysUs, texts of opts.exitReads) after the reap.
// The TypeScript layer (src/native.ts) validates every field; this trusts shapes.
Napi::Value SpawnJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object opts = info[0].As<Napi::Object>();

  auto* job = new SpawnJob();
  SpawnRequest& req = job->req;
  req.command = opts.Get("command").As<Napi::String>().Utf8Value();
  req.candidates = Strings(opts, "candidates");
  req.argv = Strings(opts, "argv");
  if (opts.Get("envBlock").IsString())
    req.env_block = opts.Get("envBlock").As<Napi::String>().Utf8Value();
  else
    req.envp = Strings(opts, "envp");
  if (opts.Get("cwd").IsString()) req.cwd = opts.Get("cwd").As<Napi::String>().Utf8Value();
  if (opts.Get("uid").IsNumber()) {
    req.set_credentials = true;
    req.uid = opts.Get("uid").As<Napi::Number>().Uint32Value();
    req.gid = opts.Get("gid").As<Napi::Number>().Uint32Value();
    Napi::Array groups = opts.Get("groups").As<Napi::Array>();
    for (uint32_t i = 0; i < groups.Length(); i++) req.groups.push_back(groups.Get(i).As<Napi::Number>().Uint32Value());
  }
  Napi::Array stdio = opts.Get("stdio").As<Napi::Array>();
  for (uint32_t i = 0; i < 3; i++) {
    int mode = stdio.Get(i).As<Napi::Number>().Int32Value();
    req.stdio[i] = mode == 1 ? Stdio::kPipe : mode == 2 && i == 2 ? Stdio::kStdout : Stdio::kNull;
  }
  if (opts.Get("cgroupJoins").IsArray()) {
    Napi::Array joins = opts.Get("cgroupJoins").As<Napi::Array>();
    for (uint32_t i = 0; i < joins.Length() && i < kMaxCgroupJoins; i++) {
      Napi::Object j = joins.Get(i).As<Napi::Object>();
      CgroupJoin& join = req.cgroup_joins[req.ncgroup_joins++];
      join.fd = Int(j, "fd", -1);
      join.fallback_fd = Int(j, "fallbackFd", -1);
      if (j.Get("path").IsString()) join.path = j.Get("path").As<Napi::String>().Utf8Value();
    }
  }
  req.cgroup_dir_fd = Int(opts, "cgroupDirFd", -1);
  req.pipe_size = Int(opts, "pipeSize", 0);
  job->inline_ok = opts.Get("inline").IsBoolean() && opts.Get("inline").As<Napi::Boolean>().Value();
  job->js_thread = opts.Get("jsThread").IsBoolean() && opts.Get("jsThread").As<Napi::Boolean>().Value();
  req.tty_fd = Int(opts, "ttyFd", -1);
  if (opts.Get("exitReads").IsArray()) job->exit_reads = Strings(opts, "exitReads");
  job->on_spawned = Napi::Persistent(info[1].As<Napi::Function>());
  job->on_exit = Napi::Persistent(info[2].As<Napi::Function>());

  env.GetInstanceData<AddonData>()->spawner->Submit(job);
  return env.Undefined();
}

void Cleanup(void* arg) {
  auto* data = static_cast<AddonData*>(arg);
  if (data->spawner != nullptr) {
    data->spawner->Stop();
    delete data->spawner;
    data->spawner = nullptr;
  }
  auto readers = data->readers;
  data->readers.clear();
  for (PipeReader* r : readers) r->Detach();
  // Detach may drop the last reference to a ChildHandle; iterate over a copy.
  auto live = data->live;
  data->live.clear();
  for (ChildHandle* c : live) c->Detach();
  // Last: every watch is gone now.
  if (data->watch != nullptr) data->watch->Close();
  data->watch = nullptr;
}

}  // namespace
}  // namespace sandproc

static Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  using namespace sandproc;
  auto* data = new AddonData();
  data->child_ctor = Napi::Persistent(ChildHandle::Init(env));
  env.SetInstanceData(data);
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  data->watch = FdWatch::Make(loop);
  if (data->watch == nullptr) {
    ThrowSystemError(env, errno, "epoll_create1");
    return exports;
  }
  // Made now, not at the first spawn: its fd slots are reserved while numbers are low.
  data->spawner = new Spawner(env);
  napi_add_env_cleanup_hook(env, Cleanup, data);
  exports.Set("spawn", Napi::Function::New(env, SpawnJs, "spawn"));
  exports.Set("PipeReader", PipeReader::Init(env));
  exports.Set("openPty", Napi::Function::New(env, OpenPty, "openPty"));
  exports.Set("resizePty", Napi::Function::New(env, ResizePty, "resizePty"));
  exports.Set("PtyWriter", PtyWriter::Init(env));
  exports.Set("lookupUser", Napi::Function::New(env, LookupUser, "lookupUser"));
  exports.Set("handoverExec", Napi::Function::New(env, HandoverExec, "handoverExec"));
  exports.Set("adoptChild", Napi::Function::New(env, AdoptChild, "adoptChild"));
  exports.Set("setCloexec", Napi::Function::New(env, SetCloexec, "setCloexec"));
  exports.Set("childPidfd", Napi::Function::New(env, ChildPidfd, "childPidfd"));
  exports.Set("startWatchdog", Napi::Function::New(env, StartWatchdog, "startWatchdog"));
  exports.Set("mapWatchdogSlots", Napi::Function::New(env, MapWatchdogSlots, "mapWatchdogSlots"));
  return exports;
}

NODE_API_MODULE(sandproc, InitAll)
