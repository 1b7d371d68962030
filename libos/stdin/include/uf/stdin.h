/* The console's input: the bytes of the host's stdin, which the runner sends through the serial line with 0xff
 * as an escape: 0xff 0xff is the byte 0xff, 0xff 0x04 ends the input, and the header 0xff 0x01 starts it, its
 * 0xff maybe lost to the UART's switch to FIFOs at boot (toolchain/uniforge/console.py). Read by module fd's
 * console file (descriptor 0), which without this module has no input (end of file). */
#ifndef UF_STDIN_H
#define UF_STDIN_H

#include <stddef.h>
#include <sys/types.h>

/* Up to len bytes of input: what has come, at least one byte, halting until some comes unless nonblock
 * (-EAGAIN then); 0 once the input has ended; -EINTR when a signal interrupted the wait. */
ssize_t uf_stdin_read(void *buf, size_t len, int nonblock);
/* POLLIN when a read would not block (input waits, or it has ended); else 0, with the receive interrupt armed to
 * wake the poller (and *wake_ns lowered to when to look again where there is no interrupt). */
unsigned uf_stdin_poll(unsigned long long *wake_ns);

#endif
