#include "sendfile_io.h"

long uf_sys_sendfile(int out, int in, off_t *offset, size_t count)
{
	return uf_sendfile(out, in, offset, count);
}
