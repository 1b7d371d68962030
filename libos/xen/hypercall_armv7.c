/* ARM hypercalls: `hvc #0xEA1`, the hypercall number in r12, arguments in r0-r4, the result in r0; Xen may
 * change r1-r4 and r12 (public/arch-arm.h). Xen announces itself in the device tree with a /hypervisor node
 * compatible with "xen,xen"; Xen 4.17 leaves it out of a dom0less domU's tree unless "xen,enhanced" (which needs
 * a dom0), so the GICv2 distributor Xen gives every domU at its fixed guest address (GUEST_GICD_BASE 0x03001000,
 * public/arch-arm.h; no machine we boot on has one there) counts too. */
#include <errno.h>
#include <uf/fdt.h>
#include <uf/xen.h>

static int state;                       /* 0 unknown, 1 on Xen, -1 not */

int uf_xen_present(void)
{
	if (!state && uf_fdt_blob())    /* decided once the device tree is known */
		state = uf_fdt_is_compatible(uf_fdt_path("/hypervisor"), "xen,xen") ||
			uf_fdt_path("/interrupt-controller@3001000") >= 0 ? 1 : -1;
	return state > 0;
}

void uf_xen_init(void)
{
	uf_xen_present();
}

long uf_xen_hypercall(unsigned op, unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4,
		      unsigned long a5)
{
	if (!uf_xen_present())
		return -ENOSYS;
	register unsigned long r0 __asm__("r0") = a1;
	register unsigned long r1 __asm__("r1") = a2;
	register unsigned long r2 __asm__("r2") = a3;
	register unsigned long r3 __asm__("r3") = a4;
	register unsigned long r4 __asm__("r4") = a5;
	register unsigned long r12 __asm__("r12") = op;
	__asm__ volatile("hvc #0xea1" : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3), "+r"(r4), "+r"(r12) : : "memory");
	return (long)r0;
}
