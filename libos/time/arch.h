/* The arch layer under time.c (private to module time). x86_64: tsc.c, lapic.c, rtc.c. A port supplies these. */
#ifndef TIME_ARCH_H
#define TIME_ARCH_H

#include <stdint.h>

/* Marks boot, the clock's 0: at module init, so it costs a counter read and nothing more. */
void uf_arch_clock_boot(void);

/* Nanoseconds since uf_arch_clock_boot(); never goes back. The first call picks the clock source (and may
 * calibrate it: ~9 ms on x86_64 without kvmclock or a published TSC frequency). */
uint64_t uf_arch_clock_ns(void);

/* Name of the source uf_arch_clock_ns uses; picks it if no clock was read yet. */
const char *uf_arch_clock_source(void);

/* Waits, without burning the host CPU where the hardware allows, until about clock ns `until`. May return
 * early (any interrupt, or a spin-wait slice): the caller loops on uf_arch_clock_ns. */
void uf_arch_clock_wait(uint64_t until);

/* Threads only: the timer interrupt at about clock ns `until` (a bit early is allowed; UINT64_MAX: none),
 * without halting; its handler calls uf_time_alarm_fired. */
void uf_arch_alarm(uint64_t until);
/* time.c, for the arch's timer interrupt (threads only): what was armed is spent. */
void uf_time_alarm_fired(void);

/* What to add to uf_arch_clock_ns() for nanoseconds since 1970 (UTC), from the platform's wall clock (an RTC:
 * whole seconds): 0, or -1 if there is none. */
int uf_arch_wall_offset(uint64_t *offset);

#endif
