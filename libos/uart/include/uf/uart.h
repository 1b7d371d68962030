/* The UART's receive side, for module stdin (the console's input): polled, with an interrupt that only says that
 * data waits. Output is uf/console.h's uf_console_write. */
#ifndef UF_UART_H
#define UF_UART_H

/* The next received byte (0-255), or -1 when none waits. */
int uf_uart_getc(void);
/* on: the UART raises its interrupt while received data waits (the handler turns it off again); off: never. */
void uf_uart_rx_interrupt(int on);
/* The UART's interrupt line: x86_64 the GSI (COM1's ISA IRQ 4); ARMv7 the GIC interrupt ID from the device
 * tree, or -1 when the tree names none. */
int uf_uart_irq(void);

#endif
