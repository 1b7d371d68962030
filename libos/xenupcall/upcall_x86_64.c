/* x86_64 (PVH): Xen delivers the upcall as a local APIC interrupt on a vector we choose per vCPU
 * (HVMOP_set_evtchn_upcall_vector). The vector comes from module x86-irq, as an MSI's would. */
#include <errno.h>
#include <uf/x86-irq.h>
#include <uf/xen.h>
#include <uf/xenupcall.h>

#define HVMOP_set_evtchn_upcall_vector 23

int uf_xen_upcall_install(void)
{
	uint64_t address;
	uint32_t data;
	if (uf_irq_msi(uf_xen_upcall, &address, &data))
		return -ENOSPC;
	struct { uint32_t vcpu; uint8_t vector; } arg = { 0, (uint8_t)data };
	return (int)uf_xen_hypercall(UF_XEN_hvm_op, HVMOP_set_evtchn_upcall_vector, (unsigned long)&arg, 0, 0, 0);
}
