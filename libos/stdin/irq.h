/* Routes the UART's receive interrupt to fn (per arch): 0, or -1 when it cannot (the reader then polls). */
#ifndef UF_STDIN_IRQ_H
#define UF_STDIN_IRQ_H

int uf_stdin_route_irq(void (*fn)(void));

#endif
