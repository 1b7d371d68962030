/* Shared by the x86_64 files of module time (tsc.c, lapic.c, rtc.c). */
#ifndef TIME_TSC_H
#define TIME_TSC_H

#include <stdint.h>
#include <uf/x86_64.h>

/* lfence keeps rdtsc from running ahead of earlier loads (the kvmclock fields, a port read). */
static inline uint64_t tsc_ordered(void)
{
	__asm__ volatile("lfence" : : : "memory");
	return uf_rdtsc();
}

/* The TSC value at which uf_arch_clock_ns() reaches ns (rounded up); ns must be less than 2^32 ns ahead. */
uint64_t uf_tsc_at_ns(uint64_t ns);

/* realtime - uf_arch_clock_ns() from the pvclock's wall clock (kvmclock's, or Xen's shared info): 0, or -1 when
 * no pvclock is the clock, or Xen knows no wall clock. */
int uf_pvclock_wall_offset(uint64_t *offset);

#endif
