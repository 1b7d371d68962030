/* Event channels that wake the CPU: Xen raises an interrupt (the upcall) when one of these ports becomes
 * pending, so a driver waiting in uf_time_wait_until() wakes and polls its rings. The handler only clears the
 * pending bits of such ports; what the event means is for the driver to find out. Other ports stay masked and
 * polled (uf_xen_evtchn_wait). */
#ifndef UF_XENUPCALL_H
#define UF_XENUPCALL_H

#include <stdint.h>

/* Unmasks port and makes its events wake the CPU (the upcall is set up on first use). 0, or -errno. */
int uf_xen_evtchn_wake_on(uint32_t port);

/* The interrupt handler (the arch part installs it). */
void uf_xen_upcall(void);
/* Arch part: routes Xen's upcall to uf_xen_upcall. 0, or -errno. */
int uf_xen_upcall_install(void);

#endif
