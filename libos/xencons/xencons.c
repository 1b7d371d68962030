/* The console of a Xen domain. Before module init, and for a domain without a PV console (dom0, a dom0less domU),
 * text goes through the console_io hypercall to Xen's own console: as is for the hardware domain, a line at a time
 * with a "(dN) " prefix for others (a domU's text needs guest_loglvl=all, and a release Xen refuses it to domains
 * a toolstack made). A domU under a toolstack has a PV console instead: a page with two rings (public/io/console.h)
 * and an event channel, both named by HVM parameters, served by xenconsoled in dom0. */
#include <uf/boot.h>
#include <uf/console.h>
#include <uf/xen.h>
#include <uf/xencons.h>
#include <uf/xenevtchn.h>

struct xencons_interface {
	char in[1024];
	char out[2048];
	uint32_t in_cons, in_prod;
	uint32_t out_cons, out_prod;
};

static volatile struct xencons_interface *ring;
static uint32_t port;

void uf_console_init(void)
{
	uint64_t pfn = uf_xen_hvm_param(UF_XEN_HVM_PARAM_CONSOLE_PFN);
	uint64_t evtchn = uf_xen_hvm_param(UF_XEN_HVM_PARAM_CONSOLE_EVTCHN);
	if (pfn && evtchn) {
		port = (uint32_t)evtchn;
		ring = (volatile struct xencons_interface *)(uintptr_t)(pfn * UF_PAGE_SIZE);
	}
}

static void ring_write(const char *s, size_t n)
{
	while (n) {
		uint32_t cons = __atomic_load_n(&ring->out_cons, __ATOMIC_ACQUIRE), prod = ring->out_prod;
		uint32_t space = sizeof ring->out - (prod - cons);
		if (!space) {
			/* Full: xenconsoled reads it when notified (and says so on the same channel). */
			uf_xen_evtchn_send(port);
			uf_xen_hypercall(UF_XEN_sched_op, UF_XEN_SCHEDOP_yield, 0, 0, 0, 0);
			continue;
		}
		for (; space && n; space--, n--, s++)
			ring->out[prod++ % sizeof ring->out] = *s;
		__atomic_store_n(&ring->out_prod, prod, __ATOMIC_RELEASE);     /* the bytes before the index */
		uf_xen_evtchn_send(port);
	}
}

void uf_console_write(const char *s, size_t n)
{
	if (ring) {
		ring_write(s, n);
		return;
	}
	/* Xen takes it all (0) or fails (not on Xen, a bad buffer): there is nowhere else to write either way. */
	uf_xen_hypercall(UF_XEN_console_io, UF_XEN_CONSOLEIO_write, n, (unsigned long)s, 0, 0);
}

void uf_xencons_flush(void)
{
	/* A bounded number of yields: a backend that is gone must not keep the domain alive. */
	for (int i = 0; ring && i < 100000; i++) {
		if (__atomic_load_n(&ring->out_cons, __ATOMIC_ACQUIRE) == ring->out_prod)
			return;
		uf_xen_evtchn_send(port);
		uf_xen_hypercall(UF_XEN_sched_op, UF_XEN_SCHEDOP_yield, 0, 0, 0, 0);
	}
}

size_t uf_xencons_read(char *buf, size_t n)
{
	if (!ring)
		return 0;
	uint32_t prod = __atomic_load_n(&ring->in_prod, __ATOMIC_ACQUIRE), cons = ring->in_cons;
	size_t got = 0;
	for (; cons != prod && got < n; got++)
		buf[got] = ring->in[cons++ % sizeof ring->in];
	__atomic_store_n(&ring->in_cons, cons, __ATOMIC_RELEASE);
	if (got)
		uf_xen_evtchn_send(port);       /* room again for the backend */
	return got;
}

uint32_t uf_xencons_port(void)
{
	return ring ? port : 0;
}
