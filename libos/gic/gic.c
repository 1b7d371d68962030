/* GICv2 (ARM IHI 0048B): enough for one CPU. Every interrupt is group 0, priority 0xa0, and signalled as IRQ;
 * there is no nesting (IRQs stay masked while a handler runs). Set up on first use, so images that never take an
 * interrupt spend nothing at boot. */
#include <uf/armv7.h>
#include <uf/fdt.h>
#include <uf/gic.h>
#include <uf/trap.h>

/* Run once (or on a crash): under an emulator that translates each instruction before its first run, small code is
 * fast code. */
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

#define GICD_CTLR       0x000
#define GICD_TYPER      0x004
#define GICD_ISENABLER  0x100
#define GICD_ICENABLER  0x180
#define GICD_IPRIORITYR 0x400   /* one byte per interrupt */
#define GICD_ITARGETSR  0x800   /* one byte per interrupt: a CPU bit mask */
#define GICC_CTLR       0x000
#define GICC_PMR        0x004
#define GICC_BPR        0x008
#define GICC_IAR        0x00c
#define GICC_EOIR       0x010
#define PRIORITY        0xa0
#define MAX_IRQS        1020    /* IDs 1020-1023 are special */

static const char *const compatibles[] = { "arm,cortex-a15-gic", "arm,gic-400", "arm,cortex-a9-gic",
					   "arm,cortex-a7-gic", "arm,arm11mp-gic" };
static uintptr_t dist, cpu;
static int nirqs;
static void (*handlers[MAX_IRQS])(void);

static void byte_write(uintptr_t a, uint8_t v)
{
	*(volatile uint8_t *)a = v;     /* IPRIORITYR and ITARGETSR are byte-accessible */
}

void uf_gic_init(void)
{
	if (dist)
		return;
	uint64_t d, dsize, c, csize;
	int node = -1;
	for (unsigned i = 0; node < 0 && i < sizeof compatibles / sizeof *compatibles; i++)
		node = uf_fdt_find_compatible(compatibles[i], -1);
	if (node < 0 || uf_fdt_reg(node, 0, &d, &dsize) || uf_fdt_reg(node, 1, &c, &csize) || (d | c) >> 32)
		uf_panic("gic: no GICv2 in the device tree");
	cpu = (uintptr_t)c;
	nirqs = 32 * ((uf_mmio_read32((uintptr_t)d + GICD_TYPER) & 0x1f) + 1);
	if (nirqs > MAX_IRQS)
		nirqs = MAX_IRQS;
	uf_mmio_write32((uintptr_t)d + GICD_CTLR, 1);          /* forward pending interrupts to the CPU interfaces */
	uf_mmio_write32(cpu + GICC_PMR, 0xff);                   /* every priority but the lowest passes */
	uf_mmio_write32(cpu + GICC_BPR, 0);
	uf_mmio_write32(cpu + GICC_CTLR, 1);                     /* signal them as IRQ */
	dist = (uintptr_t)d;
}

void uf_gic_enable(int irq)
{
	uf_gic_init();
	if (irq < 0 || irq >= nirqs)
		uf_panic("gic: interrupt %d does not exist (the GIC has %d)", irq, nirqs);
	byte_write(dist + GICD_IPRIORITYR + irq, PRIORITY);
	if (irq >= 32)
		byte_write(dist + GICD_ITARGETSR + irq, 1);     /* SPIs to CPU 0 (read-only for SGIs and PPIs) */
	uf_mmio_write32(dist + GICD_ISENABLER + 4 * (irq / 32), 1u << (irq % 32));
}

void uf_gic_disable(int irq)
{
	uf_gic_init();
	if (irq >= 0 && irq < nirqs)
		uf_mmio_write32(dist + GICD_ICENABLER + 4 * (irq / 32), 1u << (irq % 32));
}

uint32_t uf_gic_ack(void)
{
	return uf_mmio_read32(cpu + GICC_IAR);
}

void uf_gic_eoi(uint32_t iar)
{
	uf_mmio_write32(cpu + GICC_EOIR, iar);
}

/* The IRQ entry's dispatch: one interrupt per exception (another pending one raises the IRQ again at once). */
static void dispatch(void)
{
	uint32_t iar = uf_gic_ack(), id = iar & 0x3ff;
	if (id >= MAX_IRQS)
		return;                 /* spurious: nothing to end */
	if (handlers[id])
		handlers[id]();
	uf_gic_eoi(iar);
}

void uf_trap_set_handler(int irq, void (*fn)(void))
{
	uf_gic_init();
	if (irq < 16 || irq >= nirqs)
		uf_panic("gic: interrupt %d cannot be routed (PPIs are 16-31, SPIs 32-%d)", irq, nirqs - 1);
	handlers[irq] = fn;
	uf_trap_set_irq_dispatch(dispatch);
	uf_gic_enable(irq);
}

#pragma clang attribute pop
