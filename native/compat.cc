// A prebuild made with GCC 12 must load on the C++ runtime of the oldest distro Node 20
// runs on (RHEL 8: GCC 8, GLIBCXX_3.4.25). GCC 11+ headers make every std::allocator
// call std::__throw_bad_array_new_length, new in GLIBCXX_3.4.29; a hidden definition
// here satisfies those references inside the addon, so no versioned import is left.
// It only runs for an allocation larger than the address space, and throws bad_alloc,
// the base class of the bad_array_new_length it stands in for.
#include <new>

#if defined(_GLIBCXX_RELEASE) && _GLIBCXX_RELEASE >= 11
namespace std {
__attribute__((visibility("hidden"), noreturn)) void __throw_bad_array_new_length() { throw std::bad_alloc(); }
}  // namespace std
#endif
