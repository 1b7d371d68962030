/* The console through Xen's console_io hypercall: the text goes to Xen's own console, as is for the hardware
 * domain (dom0), a line at a time with a "(dN) " prefix for other domains. Synchronous, needs no set-up and
 * works from the first instruction: the console for boot messages, crash reports and the app alike. */
#include <uf/console.h>
#include <uf/xen.h>

void uf_console_init(void)
{
}

void uf_console_write(const char *s, size_t n)
{
	/* Xen takes it all (0) or fails (not on Xen, a bad buffer): there is nowhere else to write either way. */
	uf_xen_hypercall(UF_XEN_console_io, UF_XEN_CONSOLEIO_write, n, (unsigned long)s, 0, 0);
}
