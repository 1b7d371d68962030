/* musl calls sendfile64 on 32-bit ARM: its offset is 64-bit, as off_t is. */
#include "sendfile_io.h"

long uf_sys_sendfile64(int out, int in, off_t *offset, size_t count)
{
	return uf_sendfile(out, in, offset, count);
}
