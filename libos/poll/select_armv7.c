/* select as 32-bit ARM names it: musl calls SYS__newselect (32-bit times) unless the timeout needs 64 bits. */
#include <errno.h>
#include <uf/poll.h>

long uf_sys__newselect(int n, fd_set *r, fd_set *w, fd_set *e, const long *tv)
{
	uint64_t deadline = UINT64_MAX;
	if (tv && (tv[1] < 0 || tv[1] >= 1000000 || uf_poll_deadline(tv[0], tv[1] * 1000, &deadline) < 0))
		return -EINVAL;
	return uf_poll_select(n, r, w, e, deadline);
}
