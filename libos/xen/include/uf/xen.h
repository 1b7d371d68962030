/* Xen: hypercalls and the parts of Xen's public ABI (xen/include/public/) the Xen modules share. The same on
 * x86_64 (PVH) and ARMv7 except the hypercall instruction: a call into the hypercall page Xen writes (x86_64), or
 * `hvc #0xEA1` with the hypercall number in r12 (ARM). Guest handles are plain pointers: the library OS is
 * identity mapped, so a virtual address is also the guest-physical one Xen wants where it wants one. (Module
 * demand, whose pages are not, is not linked on Xen; the pages the Xen modules grant or map are their own, from the
 * page allocator or their static data, and blkfront copies a caller's buffer through its own granted pages.) */
#ifndef UF_XEN_H
#define UF_XEN_H

#include <stdint.h>

/* Hypercall numbers (public/xen.h). */
#define UF_XEN_memory_op        12
#define UF_XEN_xen_version      17
#define UF_XEN_console_io       18
#define UF_XEN_grant_table_op   20
#define UF_XEN_sched_op         29
#define UF_XEN_event_channel_op 32
#define UF_XEN_hvm_op           34

/* memory_op */
#define UF_XEN_XENMEM_memory_map 9

/* console_io */
#define UF_XEN_CONSOLEIO_write 0

/* sched_op: SCHEDOP_shutdown takes a struct sched_shutdown; the reasons (public/sched.h). */
#define UF_XEN_SCHEDOP_yield    0
#define UF_XEN_SCHEDOP_block    1
#define UF_XEN_SCHEDOP_shutdown 2
#define UF_XEN_SHUTDOWN_poweroff 0
#define UF_XEN_SHUTDOWN_reboot   1
#define UF_XEN_SHUTDOWN_crash    3

/* hvm_op HVMOP_get_param: the special pages and event channels the domain builder set up (public/hvm/params.h). */
#define UF_XEN_HVMOP_get_param       1
#define UF_XEN_HVM_PARAM_STORE_PFN   1
#define UF_XEN_HVM_PARAM_STORE_EVTCHN 2
#define UF_XEN_HVM_PARAM_CONSOLE_PFN 17
#define UF_XEN_HVM_PARAM_CONSOLE_EVTCHN 18

/* memory_op XENMEM_add_to_physmap: where Xen's own pages (shared info, grant table frames) appear. */
#define UF_XEN_XENMEM_add_to_physmap 7
#define UF_XEN_XENMAPSPACE_shared_info 0
#define UF_XEN_XENMAPSPACE_grant_table 1
#define UF_XEN_DOMID_SELF 0x7ff0

/* struct vcpu_time_info: pvclock parameters (system time in ns = system_time + scaled TSC delta). */
struct uf_xen_vcpu_time {
	uint32_t version;       /* odd while Xen updates the rest */
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad1[2];
};

struct uf_xen_vcpu_info {
	uint8_t evtchn_upcall_pending;
	uint8_t evtchn_upcall_mask;     /* 1: no upcalls (we poll) */
	uint64_t evtchn_pending_sel __attribute__((aligned(8)));
#ifdef __x86_64__
	uint64_t cr2, pad;              /* struct arch_vcpu_info; empty on ARM */
#endif
	struct uf_xen_vcpu_time time;
};

/* struct shared_info (public/xen.h). Event channel words are 64 bits on both arches (xen_ulong_t). */
#ifdef __x86_64__
#define UF_XEN_LEGACY_MAX_VCPUS 32
#else
#define UF_XEN_LEGACY_MAX_VCPUS 1
#endif
struct uf_xen_shared_info {
	struct uf_xen_vcpu_info vcpu_info[UF_XEN_LEGACY_MAX_VCPUS];
	uint64_t evtchn_pending[64];
	uint64_t evtchn_mask[64];
	uint32_t wc_version;    /* the wall clock at Xen's system time 0: odd while Xen updates it */
	uint32_t wc_sec;
	uint32_t wc_nsec;
	uint32_t wc_sec_hi;
};
_Static_assert(sizeof(struct uf_xen_vcpu_info) == (UF_XEN_LEGACY_MAX_VCPUS > 1 ? 64 : 48), "vcpu_info ABI");

/* Puts one of Xen's pages (UF_XEN_XENMAPSPACE_*, its index idx) at the guest page `page` (page-aligned, in the
 * identity map: what was there is gone). Returns 0 or -errno. */
int uf_xen_map_page(unsigned space, unsigned long idx, void *page);

/* The shared info page, mapped on first use; NULL when Xen refuses. */
volatile struct uf_xen_shared_info *uf_xen_shared_info(void);

/* Whether we run on Xen: the CPUID signature "XenVMMXenVMM" (x86_64), a device-tree /hypervisor node compatible
 * with "xen,xen" (ARM). Cheap after the first call. */
int uf_xen_present(void);

/* A hypercall with up to five arguments; returns Xen's result (>= 0, or -errno). Not on Xen: -ENOSYS. */
long uf_xen_hypercall(unsigned op, unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4,
		      unsigned long a5);

/* Ends this domain with a SHUTDOWN_* reason. Returns only if Xen refused (or we are not on Xen). */
void uf_xen_shutdown(unsigned reason);

/* An HVM parameter (UF_XEN_HVM_PARAM_*) of this domain; 0 when it is unset or unknown. */
uint64_t uf_xen_hvm_param(unsigned index);

/* Adds the domain's RAM to uf_boot_info from XENMEM_memory_map: boot calls it where the loader passed no memory
 * map (a PVH dom0's hvm_start_info is version 0). */
void uf_boot_platform_ram(void);

/* Module init: makes the hypercall mechanism ready for good (x86_64: the hypercall page executable, now that the
 * final page tables exist). Hypercalls also work before it. */
void uf_xen_init(void);

#endif
