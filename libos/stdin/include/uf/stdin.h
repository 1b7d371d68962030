/* The console's input: the bytes of the host's stdin, which the runner sends through the serial line (QEMU) or the
 * console's pty in dom0 (xl) with 0xff as an escape: 0xff 0xff is the byte 0xff, 0xff 0x04 ends the input, and the
 * header 0xff 0x01 starts it, its 0xff maybe lost to the UART's switch to FIFOs at boot
 * (toolchain/uniforge/running/console.py). These are the read and poll ops of module fd's console file
 * (descriptors 0-2, uf/fd.h), which refers to them weakly: an image without this module (one whose app cannot read
 * the console) reads end of file there, and so does a Xen domain without a PV console. */
#ifndef UF_STDIN_H
#define UF_STDIN_H

#include <stddef.h>
#include <sys/types.h>

struct uf_file;

/* Up to len bytes of input: what has come, at least one byte, halting until some comes unless the file is
 * O_NONBLOCK (-EAGAIN then); 0 once the input has ended; -EINTR when a signal interrupted the wait. */
ssize_t uf_stdin_read(struct uf_file *f, void *buf, size_t len);
/* POLLOUT, and POLLIN when a read would not block (input waits, or it has ended); else the receive interrupt is
 * armed to wake the poller (and *wake_ns lowered to when to look again where there is no interrupt). */
unsigned uf_stdin_poll(struct uf_file *f, unsigned long long *wake_ns);

#endif
