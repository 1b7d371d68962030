/* Exit on Xen: the status line goes to the console (Xen's shutdown carries only a reason, not a number; the runner
 * reads the line, toolstacks see the reason), then SCHEDOP_shutdown ends the domain: poweroff, or crash after a
 * crash report, so `xl` applies on_poweroff / on_crash. */
#include <uf/console.h>
#include <uf/exit.h>
#include <uf/xen.h>
#include <uf/xencons.h>

_Noreturn void uf_exit(int status)
{
	static int exiting;
	if (!exiting++) {       /* once: a fault in here must not loop */
		if (status == UF_EXIT_CRASH)
			uf_printk("uniforge: exit status crash\n");
		else
			uf_printk("uniforge: exit status %d\n", status);
		uf_xencons_flush();     /* the ring goes with the domain */
		uf_xen_shutdown(status == UF_EXIT_CRASH ? UF_XEN_SHUTDOWN_crash : UF_XEN_SHUTDOWN_poweroff);
	}
	for (;;)
		uf_xen_hypercall(UF_XEN_sched_op, UF_XEN_SCHEDOP_block, 0, 0, 0, 0);
}
