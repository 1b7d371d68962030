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

#endif
