/* The console: a byte sink for the kernel's messages (and the app's stdout/stderr through module fd). A console
 * device module (uart, xencons: the target's `modules` picks one) defines uf_console_init and uf_console_write;
 * module console defines uf_printk over them. */
#ifndef UF_CONSOLE_H
#define UF_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>

/* Sets up the device (called once at boot); writing works before it (QEMU's UART, Xen's console_io). */
void uf_console_init(void);

/* Writes n bytes as they are (8-bit clean: the host's runner passes them on unchanged); returns once the device
 * has taken them all. */
void uf_console_write(const char *s, size_t n);

/* A small printf: %s %c %d %i %u %x %X %p %%, flags '-' and '0', a width, and the l, ll and z modifiers.
 * Returns the number of characters written. */
int uf_printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int uf_vprintk(const char *fmt, va_list ap);

/* Fails a call on an argument the library OS does not support (one Linux would accept, unlike an invalid one):
 *     return uf_unsupported(-EINVAL, "clock %d", id);
 * evaluates to err, a negative errno. Debug builds (UF_DEBUG) also say so, once per call site, in one line:
 *     uniforge: clock_nanosleep: clock 2 is not supported: EINVAL
 * named after the enclosing function (a uf_sys_NAME syscall by its NAME). Release builds print nothing, keep no
 * strings and do not evaluate the arguments after err (the format is still checked). */
#ifdef UF_DEBUG
#define uf_unsupported(err, ...) ({                                                         \
	static char uf_said_;                                                               \
	if (!uf_said_) {                                                                    \
		uf_said_ = 1;                                                               \
		uf_unsupported_note(__func__, (err), __VA_ARGS__);                          \
	}                                                                                   \
	(long)(err);                                                                        \
})
#else
#define uf_unsupported(err, ...) (0 ? uf_unsupported_note(__func__, (err), __VA_ARGS__), (long)(err) : (long)(err))
#endif
/* The line uf_unsupported prints: fn is the caller's name, err its negative errno, fmt what it does not support. */
void uf_unsupported_note(const char *fn, long err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
