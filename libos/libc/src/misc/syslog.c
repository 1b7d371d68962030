/* syslog on a machine without a syslog daemon: the console is the log. Each message is one line on standard error
 * (the console), "ident[pid]: message", instead of a datagram to /dev/log: musl's own would open an AF_UNIX socket
 * that cannot exist here (linking the network stack for it), show nothing, and leave errno at what its failed
 * send said (EBADF). errno comes back as it was, as glibc's syslog does: a caller's strerror(errno) after logging
 * still names its own error. setlogmask, and openlog's ident and LOG_PID, apply; LOG_CONS and LOG_PERROR change
 * nothing (the message is on the console anyway). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "libc.h"
#include "lock.h"

static volatile int lock[1];
static char log_ident[32];
static int log_opt;
static int log_mask = 0xff;

int setlogmask(int maskpri)
{
	LOCK(lock);
	int ret = log_mask;
	if (maskpri)
		log_mask = maskpri;
	UNLOCK(lock);
	return ret;
}

void openlog(const char *ident, int opt, int facility)
{
	(void)facility;
	LOCK(lock);
	size_t n = ident ? strnlen(ident, sizeof log_ident - 1) : 0;
	memcpy(log_ident, ident ? ident : "", n);
	log_ident[n] = 0;
	log_opt = opt;
	UNLOCK(lock);
}

void closelog(void)
{
}

static void log_line(int priority, const char *message, va_list ap)
{
	char buf[1024];
	int saved = errno;
	if (!(log_mask & LOG_MASK(priority & 7)) || (priority & ~0x3ff))
		return;
	LOCK(lock);
	const char *ident = log_ident[0] ? log_ident : __progname ? __progname : "";
	int n = (log_opt & LOG_PID) ? snprintf(buf, sizeof buf, "%s[%d]: ", ident, getpid())
				    : snprintf(buf, sizeof buf, "%s: ", ident);
	errno = saved;                  /* for %m */
	int m = vsnprintf(buf + n, sizeof buf - n, message, ap);
	if (m >= 0) {
		n = m >= (int)sizeof buf - n ? (int)sizeof buf - 1 : n + m;
		if (buf[n - 1] != '\n')
			buf[n++] = '\n';
		write(2, buf, n);
	}
	UNLOCK(lock);
	errno = saved;
}

void syslog(int priority, const char *message, ...)
{
	va_list ap;
	va_start(ap, message);
	log_line(priority, message, ap);
	va_end(ap);
}

weak_alias(log_line, vsyslog);
