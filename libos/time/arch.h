/* The arch layer under time.c (private to module time). x86_64: tsc.c, lapic.c, rtc.c. A port supplies these four. */
#ifndef TIME_ARCH_H
#define TIME_ARCH_H

#include <stdint.h>

/* Nanoseconds since the machine started; never goes back. The first call picks the clock source (and may
 * calibrate it: ~10 ms on x86_64 without a hypervisor or CPUID frequency). */
uint64_t uf_arch_clock_ns(void);

/* Name of the source uf_arch_clock_ns uses; picks it if no clock was read yet. */
const char *uf_arch_clock_source(void);

/* Waits, without burning the host CPU where the hardware allows, until about clock ns `until`. May return
 * early (any interrupt, or a spin-wait slice): the caller loops on uf_arch_clock_ns. */
void uf_arch_clock_wait(uint64_t until);

/* Wall-clock seconds since 1970 (UTC) from the platform's RTC: 0, or -1 if there is none. */
int uf_arch_rtc_seconds(uint64_t *seconds);

#endif
