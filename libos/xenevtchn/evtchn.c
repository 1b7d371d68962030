/* Event channels, 2-level ABI: a port's pending and mask bits live in the shared info page, 64 ports a word. */
#include <errno.h>
#include <uf/xen.h>
#include <uf/xenevtchn.h>

#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_close            3
#define EVTCHNOP_send             4
#define EVTCHNOP_status           5
#define EVTCHNOP_alloc_unbound    6
#define SCHEDOP_poll              3
#define EVTCHNSTAT_unbound        1

static long op(unsigned cmd, void *arg)
{
	return uf_xen_hypercall(UF_XEN_event_channel_op, cmd, (unsigned long)arg, 0, 0, 0);
}

static volatile struct uf_xen_shared_info *shared(void)
{
	static int masked_upcalls;
	volatile struct uf_xen_shared_info *s = uf_xen_shared_info();
	if (s && !masked_upcalls++)
		s->vcpu_info[0].evtchn_upcall_mask = 1;         /* we poll: no upcalls (until module xenupcall) */
	return s;
}

/* Masked from the start: a pending port must never turn into an interrupt nobody handles. */
static int masked(uint32_t port)
{
	volatile struct uf_xen_shared_info *s = shared();
	if (!s)
		return -ENOSYS;
	__atomic_fetch_or(&s->evtchn_mask[port / 64], 1ull << (port % 64), __ATOMIC_SEQ_CST);
	return 0;
}

int uf_xen_evtchn_alloc_unbound(uint16_t remote_dom, uint32_t *port)
{
	struct { uint16_t dom, remote_dom; uint32_t port; } arg = { UF_XEN_DOMID_SELF, remote_dom, 0 };
	long rc = op(EVTCHNOP_alloc_unbound, &arg);
	if (rc)
		return (int)rc;
	*port = arg.port;
	return masked(arg.port);
}

int uf_xen_evtchn_bind_interdomain(uint16_t remote_dom, uint32_t remote_port, uint32_t *local)
{
	struct { uint16_t remote_dom, pad; uint32_t remote_port, local_port; } arg = { remote_dom, 0, remote_port, 0 };
	long rc = op(EVTCHNOP_bind_interdomain, &arg);
	if (rc)
		return (int)rc;
	*local = arg.local_port;
	return masked(arg.local_port);
}

int uf_xen_evtchn_send(uint32_t port)
{
	return (int)op(EVTCHNOP_send, &port);
}

int uf_xen_evtchn_close(uint32_t port)
{
	return (int)op(EVTCHNOP_close, &port);
}

int uf_xen_evtchn_take(uint32_t port)
{
	volatile struct uf_xen_shared_info *s = shared();
	uint64_t bit = 1ull << (port % 64);
	return s && (__atomic_fetch_and(&s->evtchn_pending[port / 64], ~bit, __ATOMIC_SEQ_CST) & bit);
}

int uf_xen_evtchn_wait(uint32_t port, uint64_t timeout_ns)
{
	struct { uint64_t ports; uint32_t nr_ports, pad; uint64_t timeout; } arg = {
		(uintptr_t)&port, 1, 0, timeout_ns };      /* a guest handle: 64 bits on both arches */
	long rc = uf_xen_hypercall(UF_XEN_sched_op, SCHEDOP_poll, (unsigned long)&arg, 0, 0, 0);
	return rc < 0 ? (int)rc : uf_xen_evtchn_take(port);
}

int uf_xen_domid(void)
{
	static int domid = -1;
	if (domid >= 0)
		return domid;
	/* An unbound port for ourselves: Xen records the remote end by number, and EVTCHNOP_status tells it. */
	uint32_t port;
	int rc = uf_xen_evtchn_alloc_unbound(UF_XEN_DOMID_SELF, &port);
	if (rc)
		return rc;
	struct { uint16_t dom, pad; uint32_t port, status, vcpu; uint16_t remote_dom; } st = {
		UF_XEN_DOMID_SELF, 0, port, 0, 0, 0 };
	rc = (int)op(EVTCHNOP_status, &st);
	uf_xen_evtchn_close(port);
	if (rc)
		return rc;
	if (st.status != EVTCHNSTAT_unbound)
		return -EIO;
	return domid = st.remote_dom;
}
