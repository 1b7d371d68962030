/* How musl passes 64-bit values to syscalls on 32-bit ARM (EABI): as two registers, low word first; a pair starts
 * on an even register, hence the padding 0 of __SYSCALL_LL_O. */
#define __SYSCALL_LL_E(x) ((long)(unsigned long long)(x)), ((long)((unsigned long long)(x) >> 32))
#define __SYSCALL_LL_O(x) 0, __SYSCALL_LL_E((x))
#define SYSCALL_FADVISE_6_ARG
#define SYSCALL_IPC_BROKEN_MODE
