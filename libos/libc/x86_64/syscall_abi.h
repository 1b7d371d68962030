/* How musl passes 64-bit values to syscalls on x86_64: as one register each. */
#define __SYSCALL_LL_E(x) (x)
#define __SYSCALL_LL_O(x) (x)
#define IPC_64 0
