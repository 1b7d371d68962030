/* Wraps musl's arch atomic_arch.h to change one thing: a_crash(). On x86_64 musl crashes with `hlt`, which in
 * ring 0 halts forever instead of faulting; a trap instruction reaches the library OS's crash report instead. */
#include_next "atomic_arch.h"
#undef a_crash
#define a_crash() __builtin_trap()
