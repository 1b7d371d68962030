/* The console's input in a Xen domain: the input ring of its PV console, which xenconsoled fills from the
 * console's pty in dom0 (where the runner writes). Its event channel wakes the CPU when xenconsoled has put bytes
 * in (and when it has taken output out: a waiter then only looks again). A domain without a PV console (dom0, a
 * dom0less domU) has no input: end of file. */
#include <uf/xencons.h>
#include <uf/xenupcall.h>
#include "source.h"

static int armed;               /* 0: not yet, 1: the channel wakes the CPU, -1: it cannot (poll instead) */

long uf_stdin_source_read(unsigned char *buf, size_t n)
{
	if (!uf_xencons_port())
		return -1;
	return (long)uf_xencons_read((char *)buf, n);
}

int uf_stdin_source_arm(void)
{
	if (!armed)
		armed = uf_xen_evtchn_wake_on(uf_xencons_port()) ? -1 : 1;
	return armed > 0 ? 0 : -1;
}
