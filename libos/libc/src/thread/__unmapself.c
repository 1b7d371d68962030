/* __unmapself(base, size): a detached thread's end, which unmaps its own stack (musl's arch assembly makes munmap
 * and exit on it). Module thread unmaps it once the thread no longer runs on it. */
#include <stddef.h>

_Noreturn void uf_thread_unmap_exit(void *base, size_t size);

void __unmapself(void *base, size_t size)
{
	uf_thread_unmap_exit(base, size);
}
