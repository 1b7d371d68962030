/* Where the console's input comes from, one per platform: the UART (uart.c, with its interrupt routed per arch by
 * irq_<arch>.c) or the PV console ring of a Xen domain (xen.c). stdin.c decodes what it gives. */
#ifndef UF_STDIN_SOURCE_H
#define UF_STDIN_SOURCE_H

#include <stddef.h>

/* Up to n received bytes into buf, without waiting: how many (0: none yet), or -1 when there is no input at all
 * (no console that carries any: end of file). */
long uf_stdin_source_read(unsigned char *buf, size_t n);
/* Makes the next byte that arrives wake uf_time_wait_until: 0, or -1 when it cannot (the reader then polls). */
int uf_stdin_source_arm(void);

/* UART (per arch): routes its receive interrupt to fn: 0, or -1 when it cannot. */
int uf_stdin_route_irq(void (*fn)(void));

#endif
