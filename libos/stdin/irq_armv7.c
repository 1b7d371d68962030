/* The PL011's interrupt is the GIC interrupt its device-tree node names (module gic). */
#include <uf/trap.h>
#include <uf/uart.h>
#include "source.h"

int uf_stdin_route_irq(void (*fn)(void))
{
	int irq = uf_uart_irq();
	if (irq < 16)
		return -1;
	uf_trap_set_handler(irq, fn);
	return 0;
}
