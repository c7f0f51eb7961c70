// Account lookups for the `user` request field, done in the parent before the clone
// (NSS may allocate, open files or talk to a daemon: never in the vfork child).
#pragma once

#include <napi.h>

namespace sandproc {

// lookupUser(name: string | number) -> { name, uid, gid, groups } | null
Napi::Value LookupUser(const Napi::CallbackInfo& info);

}  // namespace sandproc
