/* uf_unsupported's line (debug builds). A file of its own: its strings are linked only with it. */
#include <errno.h>
#include <string.h>
#include <uf/console.h>

/* The errnos uf_unsupported is used with, by name; others by number. */
static const char *errno_name(long err)
{
	switch (err) {
	case -EPERM: return "EPERM";
	case -EAGAIN: return "EAGAIN";
	case -EINVAL: return "EINVAL";
	case -ENODEV: return "ENODEV";
	case -ENOTTY: return "ENOTTY";
	case -ENOSYS: return "ENOSYS";
	case -ENOPROTOOPT: return "ENOPROTOOPT";
	case -EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case -ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
	case -EOPNOTSUPP: return "EOPNOTSUPP";
	case -EAFNOSUPPORT: return "EAFNOSUPPORT";
	default: return 0;
	}
}

void uf_unsupported_note(const char *fn, long err, const char *fmt, ...)
{
	va_list ap;
	if (!strncmp(fn, "uf_sys_", 7))
		fn += 7;
	uf_printk("uniforge: %s: ", fn);
	va_start(ap, fmt);
	uf_vprintk(fmt, ap);
	va_end(ap);
	const char *name = errno_name(err);
	if (name)
		uf_printk(" is not supported: %s\n", name);
	else
		uf_printk(" is not supported: errno %ld\n", -err);
}
