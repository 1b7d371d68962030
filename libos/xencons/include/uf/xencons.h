/* The Xen console device: the PV console ring when the domain has one (a domU under a toolstack: xenconsoled in
 * dom0 serves it), else Xen's console_io hypercall (dom0, a dom0less domU, and everything before module init). */
#ifndef UF_XENCONS_H
#define UF_XENCONS_H

#include <stddef.h>
#include <stdint.h>

/* Waits (a second at most) until the console's backend has read everything written: called before the domain
 * ends, which takes the ring with it. */
void uf_xencons_flush(void);

/* Reads up to n bytes of console input without blocking; returns how many (0: none, or no ring). */
size_t uf_xencons_read(char *buf, size_t n);
/* The PV console's event channel (xenconsoled signals it when input came or output was taken), 0 when the domain
 * has no PV console. */
uint32_t uf_xencons_port(void);

#endif
