{
  "targets": [
    {
      "target_name": "sandproc",
      "sources": [
        "native/addon.cc",
        "native/clone3.cc",
        "native/compat.cc",
        "native/spawn.cc",
        "native/spawner.cc",
        "native/exit_watch.cc",
        "native/fd_watch.cc",
        "native/fd_slots.cc",
        "native/handover.cc",
        "native/pipe_reader.cc",
        "native/pty.cc",
        "native/user.cc",
        "native/watchdog.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_GNU_SOURCE"
      ],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags": ["-Wall", "-Wextra", "-fvisibility=hidden", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2"],
      "ldflags": ["-Wl,-z,relro,-z,now", "-Wl,-z,noexecstack"]
    }
  ]
}
