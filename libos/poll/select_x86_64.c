/* select as x86_64 names it (musl calls SYS_select there). tv is {seconds, microseconds}. */
#include <errno.h>
#include <uf/poll.h>

long uf_sys_select(int n, fd_set *r, fd_set *w, fd_set *e, const long *tv)
{
	uint64_t deadline = UINT64_MAX;
	if (tv && (tv[1] < 0 || tv[1] >= 1000000 || uf_poll_deadline(tv[0], tv[1] * 1000, &deadline) < 0))
		return -EINVAL;
	return uf_poll_select(n, r, w, e, deadline);
}
