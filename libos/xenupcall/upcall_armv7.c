/* ARM: Xen raises the upcall as the PPI that the device tree's /hypervisor node names (interrupts = <1 N flags>:
 * GIC ID 16 + N; Xen 4.17 gives domUs PPI 15, ID 31). */
#include <errno.h>
#include <uf/fdt.h>
#include <uf/trap.h>
#include <uf/xenupcall.h>

#define FDT_PPI 1

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int uf_xen_upcall_install(void)
{
	int len;
	const uint8_t *irq = uf_fdt_getprop(uf_fdt_path("/hypervisor"), "interrupts", &len);
	if (!irq || len < 12 || be32(irq) != FDT_PPI)
		return -ENODEV;
	uf_trap_set_handler(16 + (int)be32(irq + 4), uf_xen_upcall);
	return 0;
}
