/* Prints what configure found, then uses it: the answers must be the unikernel's. */
#include "config.h"
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	printf("autoconf-hello: for %s, epoll.h %s, clock_gettime %s, missing function %s, fork %s, threads %s, "
	       "page size %s\n", CONFIGURED_HOST_CPU,
#ifdef HAVE_SYS_EPOLL_H
	       "yes",
#else
	       "no",
#endif
#ifdef HAVE_CLOCK_GETTIME
	       "yes",
#else
	       "no",
#endif
#ifdef HAVE_UF_NO_SUCH_FUNCTION
	       "yes",
#else
	       "no",
#endif
#ifdef FORK_WORKS
	       "works",
#else
	       "fails",
#endif
#ifdef THREADS_RUN
	       "run",
#else
	       "fail",
#endif
	       CONFIGURED_PAGE_SIZE);
	struct timespec ts;
	volatile double two = 2.0;
	printf("autoconf-hello: clock %s, sqrt(2) %.3f, fork() %s, page size now %ld\n",
	       clock_gettime(CLOCK_MONOTONIC, &ts) == 0 ? "ok" : "failed", sqrt(two), fork() < 0 ? "fails" : "works",
	       sysconf(_SC_PAGESIZE));
	return 0;
}
