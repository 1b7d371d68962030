/* COM1's interrupt is ISA IRQ 4, GSI 4 of the IOAPIC (module x86-irq). */
#include <uf/uart.h>
#include <uf/x86-irq.h>
#include "source.h"

int uf_stdin_route_irq(void (*fn)(void))
{
	return uf_irq_route_gsi(uf_uart_irq(), fn);
}
