/* Event channels and grant tables, looped back within this domain: a channel whose two ends are both ours, a page
 * granted to ourselves and read back through Xen's grant copy. Prints what happened; exits non-zero on failure. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The library OS's Xen interfaces (libos/xenevtchn, libos/xengnttab): an app sees only the libc's headers. */
#define DOMID_SELF 0x7ff0
int uf_xen_domid(void);
int uf_xen_evtchn_alloc_unbound(uint16_t remote_dom, uint32_t *port);
int uf_xen_evtchn_bind_interdomain(uint16_t remote_dom, uint32_t remote_port, uint32_t *local);
int uf_xen_evtchn_send(uint32_t port);
int uf_xen_evtchn_close(uint32_t port);
int uf_xen_evtchn_take(uint32_t port);
int uf_xen_evtchn_wait(uint32_t port, uint64_t timeout_ns);
int uf_xen_gnttab_grant(uint16_t domid, const void *page, int readonly);
int uf_xen_gnttab_end(int ref);
int uf_xen_gnttab_copy_from(uint16_t domid, uint32_t ref, uint16_t offset, void *dst, uint16_t len);

static char granted[4096] __attribute__((aligned(4096)));
static char copy[4096] __attribute__((aligned(4096)));

static int check(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}

int main(void)
{
	int domid = uf_xen_domid(), failed = 0;
	printf("domid: %d\n", domid);
	if (domid < 0)
		return 2;

	uint32_t a, b;
	if (uf_xen_evtchn_alloc_unbound(DOMID_SELF, &a) || uf_xen_evtchn_bind_interdomain(DOMID_SELF, a, &b))
		return 3;
	/* Binding notifies the new end once (Xen: notifications sent to the unbound port must not be lost). */
	failed |= check("evtchn: bound end notified once", uf_xen_evtchn_take(b) && !uf_xen_evtchn_take(b));
	failed |= check("evtchn: nothing else pending", !uf_xen_evtchn_take(a));
	failed |= check("evtchn: send b, a pending", !uf_xen_evtchn_send(b) && uf_xen_evtchn_wait(a, 0) == 1);
	failed |= check("evtchn: taken once", !uf_xen_evtchn_take(a) && !uf_xen_evtchn_take(b));
	failed |= check("evtchn: send a, b pending", !uf_xen_evtchn_send(a) && uf_xen_evtchn_wait(b, 0) == 1);
	failed |= check("evtchn: closed", !uf_xen_evtchn_close(a) && uf_xen_evtchn_send(b) == 0 &&
		      !uf_xen_evtchn_close(b) && uf_xen_evtchn_send(b) < 0);

	strcpy(granted + 100, "through a grant");
	int ref = uf_xen_gnttab_grant((uint16_t)domid, granted, 1);
	printf("gnttab: ref %d\n", ref);
	if (ref < 0)
		return 4;
	int rc = uf_xen_gnttab_copy_from((uint16_t)domid, (uint32_t)ref, 100, copy + 8, 16);
	failed |= check("gnttab: copied", !rc && !strcmp(copy + 8, "through a grant"));
	failed |= check("gnttab: ended", !uf_xen_gnttab_end(ref));
	failed |= check("gnttab: ended grant refused", uf_xen_gnttab_copy_from((uint16_t)domid, (uint32_t)ref, 0,
									      copy, 16) < 0);
	return failed;
}
