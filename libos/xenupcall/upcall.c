/* The upcall handler and unmasking, the same on both arches (2-level event channels, vCPU 0 only). */
#include <errno.h>
#include <uf/xen.h>
#include <uf/xenevtchn.h>
#include <uf/xenupcall.h>

#define EVTCHNOP_unmask 9

void uf_xen_upcall(void)
{
	volatile struct uf_xen_shared_info *s = uf_xen_shared_info();
	volatile struct uf_xen_vcpu_info *v = &s->vcpu_info[0];
	v->evtchn_upcall_pending = 0;
	uint64_t words = __atomic_exchange_n(&v->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
	while (words) {
		unsigned w = (unsigned)__builtin_ctzll(words);
		words &= words - 1;
		/* Unmasked ports only: the masked ones belong to whoever polls them. A port left pending would not
		 * raise the upcall again. */
		uint64_t ours = s->evtchn_pending[w] & ~s->evtchn_mask[w];
		if (ours)
			__atomic_fetch_and(&s->evtchn_pending[w], ~ours, __ATOMIC_SEQ_CST);
	}
}

int uf_xen_evtchn_wake_on(uint32_t port)
{
	static int installed;
	uf_xen_evtchn_take(port);       /* also makes module xenevtchn set its default (upcalls masked) first */
	if (!installed) {
		volatile struct uf_xen_shared_info *s = uf_xen_shared_info();
		if (!s)
			return -ENOSYS;
		int rc = uf_xen_upcall_install();
		if (rc)
			return rc;
		s->vcpu_info[0].evtchn_upcall_mask = 0;
		installed = 1;
	}
	/* Xen clears the mask and, if the port is pending already, raises the upcall. */
	return (int)uf_xen_hypercall(UF_XEN_event_channel_op, EVTCHNOP_unmask, (unsigned long)&port, 0, 0, 0);
}
