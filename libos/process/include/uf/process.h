/* The process: its start from the boot command line, and its options. */
#ifndef UF_PROCESS_H
#define UF_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* Starts the app (never returns): argv, environment and auxv for the libc, then main(). uf_app_main is a weak alias
 * of uf_process_main, on whatever stack it is called (module demand's runs it on a stack of its own). */
_Noreturn void uf_app_main(void);
_Noreturn void uf_process_main(void);

/* The linked modules' exit functions (their module.toml's `exit`), a module before those it depends on: defined by
 * the generated init table (templates/init.c.j2) only when a linked module has one, so the process's exit calls
 * it through a weak reference before ending the machine. */
void uf_modules_exit(void) __attribute__((weak));

/* A library-OS option given on the command line as `uf.NAME=value` (or any dotted `a.b=value`), or NULL. */
const char *uf_option(const char *name);

/* Splits a command line in place into at most max words. Words are separated by white space; double quotes group,
 * a backslash takes the next character literally. Returns the count, or -1 when there are more than max. */
int uf_cmdline_split(char *line, char **words, int max);

/* The CPU's counter (x86_64 TSC, ARMv7 CNTVCT), as uf_boot_entry_ticks, and its rate in Hz: 0 when only a
 * calibration could tell (a TSC whose rate no CPUID leaf publishes, as under QEMU's TCG). */
uint64_t uf_arch_counter(void);
uint64_t uf_arch_counter_hz(void);

/* The process's effective ids (setuid and friends change them): who owns the files it creates. */
uid_t uf_process_euid(void);
gid_t uf_process_egid(void);

/* A resource's soft limit (setrlimit's rlim_cur), for the module that enforces it: RLIMIT_NOFILE for module fd. */
rlim_t uf_process_limit(int resource);

/* exit_group(2): the process ends with status & 0xff (its files written back first). */
_Noreturn long uf_sys_exit_group(int status);

/* Fills buf with hard-to-guess bytes (for AT_RANDOM: the stack protector's canary and the libc's hash seeds). */
void uf_arch_entropy(void *buf, size_t len);

#ifdef __arm__
/* Sets the thread pointer (TPIDRURO): the libc's __set_thread_area (libos/libc/armv7) calls it. */
void uf_arch_set_thread_pointer(void *p);
#endif

#endif
