// Keeping a spawn's cost independent of how many fds the parent has open.
//
// clone() without CLONE_FILES copies the whole fd table into the child, and its execve
// then closes every close-on-exec entry again: both O(open fds). A supervisor of 10,000
// processes holds 30,000 fds, and each spawn then costs milliseconds more (measured:
// +0.09 ms per 1,000 open fds for /bin/true). Instead the child shares our table
// (CLONE_FILES) and its first syscall is close_range(limit, ~0, CLOSE_RANGE_UNSHARE),
// which gives it a private copy of only the fds below `limit`. The fds it needs are
// placed below `limit` first: each spawning thread owns a few slots reserved at low
// numbers (placeholders on /dev/null, made at load time while numbers are low), into
// which the parent dup3s them before the clone and which it points back at /dev/null
// after. Where the kernel lacks CLOSE_RANGE_UNSHARE (before 5.9) or a filter refuses
// close_range, spawns copy the table as before.
#pragma once

namespace sandproc {

// Enough for every fd a child can need: three pipe ends or a terminal, the error pipe
// and up to four cgroup joins with their fallbacks.
constexpr int kFdSlots = 16;

class FdSlots {
 public:
  // Reserves the slots; a FdSlots that could not is unusable and the spawn takes the old
  // path, as it does where the kernel cannot unshare (WorthIt asks the probe).
  FdSlots();
  ~FdSlots();
  FdSlots(const FdSlots&) = delete;
  FdSlots& operator=(const FdSlots&) = delete;

  // Worth it: fd numbers this high mean a table large enough for the copy to cost more
  // than the dup3s (two per placed fd).
  bool WorthIt(int highest_fd) const;
  // The fd to give the child for `fd`: itself when below the limit, else a slot now
  // referring to the same file; -1 when the slots ran out (the caller then copies).
  int Place(int fd);
  // Points every used slot back at /dev/null, so the parent holds no extra reference
  // (a pipe's write end left in a slot would keep its reader from ever seeing EOF).
  void Release();
  // The child's close_range start: every slot (and all of the parent's low fds) is below.
  int limit() const { return limit_; }

 private:
  int slots_[kFdSlots];
  int from_[kFdSlots];  // what slots_[i] was made to refer to, for the first used_ of them
  int used_ = 0;
  int limit_ = -1;  // -1: unusable
  int placeholder_ = -1;
};

// Whether close_range(CLOSE_RANGE_UNSHARE) works here; probed once, in a throwaway
// child, on first use.
bool FilesUnshareUsable();

}  // namespace sandproc
