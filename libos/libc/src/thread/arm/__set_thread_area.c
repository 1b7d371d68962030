/* musl's ARM __set_thread_area makes the private ARM syscall 0xf0005, which has no SYS_ name; here it sets the
 * thread pointer register through the library OS directly (musl built for ARMv7 reads it with mrc, no kuser
 * helpers). */
void uf_arch_set_thread_pointer(void *p);

int __set_thread_area(void *p)
{
	uf_arch_set_thread_pointer(p);
	return 0;
}
