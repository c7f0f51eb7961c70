// errno -> JS Error with Node's SystemError fields (code, errno, syscall, path), so
// callers branch on `code` exactly as they do for fs and child_process errors.
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "errno_name.h"

namespace sandproc {

inline Napi::Error SystemError(Napi::Env env, int err, const char* syscall, const std::string& path = std::string()) {
  std::string msg = std::string(syscall) + " " + ErrnoName(err) + ": " + strerror(err);
  if (!path.empty()) msg += " '" + path + "'";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  // Node reports errno as the negated value (libuv convention); match it.
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) e.Set("path", Napi::String::New(env, path));
  return e;
}

// Throws into JS (exceptions are disabled: the caller must return right after).
inline void ThrowSystemError(Napi::Env env, int err, const char* syscall, const std::string& path = std::string()) {
  SystemError(env, err, syscall, path).ThrowAsJavaScriptException();
}

}  // namespace sandproc
