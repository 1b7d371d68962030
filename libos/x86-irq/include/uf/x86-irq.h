/* Device interrupts on x86_64, for drivers: each call takes a free IDT vector, installs fn on it with
 * uf_trap_set_handler, and makes sure the local APIC accepts interrupts. Delivered to this (the only) CPU. */
#ifndef UF_X86_IRQ_H
#define UF_X86_IRQ_H

#include <stdint.h>

/* How many GSIs the machine's IOAPICs cover (probed at their usual addresses, 0xfec00000 and 0xfec10000:
 * QEMU's pc/q35 have the first, microvm both). */
int uf_irq_gsi_count(void);
/* Routes a level-triggered, active-high GSI to fn. 0, or -1 (no such GSI, or out of vectors). */
int uf_irq_route_gsi(int gsi, void (*fn)(void));
/* Takes a vector for fn and gives the MSI message that raises it (edge-triggered). 0, or -1 (out of vectors). */
int uf_irq_msi(void (*fn)(void), uint64_t *address, uint32_t *data);

#endif
