/* The GICv2 interrupt controller (ARM IHI 0048B): the distributor and this CPU's interface, found in the device
 * tree. Linked only when something routes an interrupt: this module defines uf_trap_set_handler (uf/trap.h) on
 * ARM, whose IRQ entry (module trap) calls the dispatch routine set up here. */
#ifndef UF_GIC_H
#define UF_GIC_H

#include <stdint.h>

#define UF_GIC_SPURIOUS 1023    /* the interrupt ID uf_gic_ack() returns when nothing is pending */

/* Finds the GIC and enables forwarding and signalling (all priorities pass). Idempotent; the functions below and
 * uf_trap_set_handler call it first. Panics if the device tree has no GICv2. */
void uf_gic_init(void);
/* Enables interrupt ID irq (16-31: this CPU's PPIs; 32 and up: SPIs, routed to CPU 0). */
void uf_gic_enable(int irq);
/* Disables interrupt ID irq. */
void uf_gic_disable(int irq);
/* Acknowledges the highest-priority pending interrupt: the GICC_IAR value (ID in bits 0-9); pass it to
 * uf_gic_eoi() when handled (not for UF_GIC_SPURIOUS). */
uint32_t uf_gic_ack(void);
void uf_gic_eoi(uint32_t iar);

#endif
