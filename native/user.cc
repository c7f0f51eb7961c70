#include "user.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "errors.h"

namespace sandproc {

Napi::Value LookupUser(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool by_uid = info[0].IsNumber();
  std::string name = by_uid ? std::string() : info[0].As<Napi::String>().Utf8Value();
  uid_t uid = by_uid ? static_cast<uid_t>(info[0].As<Napi::Number>().Uint32Value()) : 0;

  long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(hint > 0 ? static_cast<size_t>(hint) : 4096);
  struct passwd pw;
  struct passwd* found = nullptr;
  int err;
  for (;;) {
    err = by_uid ? getpwuid_r(uid, &pw, buf.data(), buf.size(), &found)
                 : getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    if (err != ERANGE || buf.size() >= (1u << 20)) break;
    buf.resize(buf.size() * 2);
  }
  // "Not found" comes back as 0 or as one of these, depending on the NSS module.
  if (found == nullptr && (err == 0 || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM)) {
    return env.Null();
  }
  if (found == nullptr) {
    ThrowSystemError(env, err, by_uid ? "getpwuid_r" : "getpwnam_r", name);
    return env.Undefined();
  }

  // The account's primary group plus every group that lists it, as initgroups sets.
  std::vector<gid_t> groups(32);
  int n = static_cast<int>(groups.size());
  while (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
    if (n <= static_cast<int>(groups.size())) n = static_cast<int>(groups.size()) * 2;
    groups.resize(static_cast<size_t>(n));
  }

  Napi::Object out = Napi::Object::New(env);
  out.Set("name", Napi::String::New(env, pw.pw_name));
  out.Set("uid", Napi::Number::New(env, pw.pw_uid));
  out.Set("gid", Napi::Number::New(env, pw.pw_gid));
  Napi::Array arr = Napi::Array::New(env, static_cast<size_t>(n));
  for (int i = 0; i < n; i++) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, groups[i]));
  out.Set("groups", arr);
  return out;
}

}  // namespace sandproc
