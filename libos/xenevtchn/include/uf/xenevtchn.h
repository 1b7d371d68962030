/* Xen event channels: the doorbells between domains (and from Xen: virqs), polled. Ports are masked when bound:
 * nothing is delivered as an interrupt; uf_xen_evtchn_wait blocks the vCPU until a port is pending (SCHEDOP_poll).
 * Calls return 0 (or a port) on success, -errno from Xen otherwise. */
#ifndef UF_XENEVTCHN_H
#define UF_XENEVTCHN_H

#include <stdint.h>

/* A new port that domain remote_dom (UF_XEN_DOMID_SELF: this one) may bind to; its number in *port. */
int uf_xen_evtchn_alloc_unbound(uint16_t remote_dom, uint32_t *port);
/* Connects a new local port (*local) to remote_port of remote_dom (UF_XEN_DOMID_SELF: a loopback). */
int uf_xen_evtchn_bind_interdomain(uint16_t remote_dom, uint32_t remote_port, uint32_t *local);
int uf_xen_evtchn_send(uint32_t port);
int uf_xen_evtchn_close(uint32_t port);
/* 1 if port was pending (and clears it), 0 if not. */
int uf_xen_evtchn_take(uint32_t port);
/* Blocks until port is pending or timeout_ns (Xen system time, 0: none) passes; then like uf_xen_evtchn_take. */
int uf_xen_evtchn_wait(uint32_t port, uint64_t timeout_ns);
/* This domain's id (Xen's guest interfaces speak of DOMID_SELF, grant entries need the number); -errno. */
int uf_xen_domid(void);

#endif
