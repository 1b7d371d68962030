/* The arch layer of module time on ARMv7: the generic timer's virtual counter (CNTVCT at CNTFRQ Hz) for the
 * clock, its compare register and the GIC for halting sleeps, and the PL031 RTC (from the device tree) for the
 * wall clock. */
#include <stdint.h>
#include <uf/fdt.h>
#include <uf/thread.h>
#include <uf/trap.h>

#include "arch.h"

#define NSEC_PER_SEC 1000000000ull
#define VIRTUAL_TIMER_IRQ 27    /* the virtual timer's PPI, by the architecture; the DTB says the same */
#define CNTV_CTL_ENABLE 1
#define CNTV_CTL_IMASK 2

static uint64_t boot_count;
static uint32_t frequency;

static uint64_t count(void)
{
	uint32_t lo, hi;
	__asm__ volatile("isb; mrrc p15, 1, %0, %1, c14" : "=r"(lo), "=r"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void set_compare(uint64_t value)
{
	__asm__ volatile("mcrr p15, 3, %0, %1, c14; isb" :: "r"((uint32_t)value), "r"((uint32_t)(value >> 32)));
}

static void set_control(uint32_t ctl)
{
	__asm__ volatile("mcr p15, 0, %0, c14, c3, 1; isb" :: "r"(ctl));
}

void uf_arch_clock_boot(void)
{
	__asm__ volatile("mrc p15, 0, %0, c14, c0, 0" : "=r"(frequency));     /* CNTFRQ, set by firmware/QEMU */
	boot_count = count();
}

/* Split so that ticks * 10^9 never overflows: whole seconds, then the remainder. */
static uint64_t ticks_to_ns(uint64_t ticks)
{
	return ticks / frequency * NSEC_PER_SEC + ticks % frequency * NSEC_PER_SEC / frequency;
}

uint64_t uf_arch_clock_ns(void)
{
	return ticks_to_ns(count() - boot_count);
}

const char *uf_arch_clock_source(void)
{
	return "generic-timer";
}

/* The timer's interrupt is level-triggered while the compare condition holds: masking it ends it. */
static void timer_fired(void)
{
	set_control(CNTV_CTL_ENABLE | CNTV_CTL_IMASK);
	if (UF_THREADED)
		uf_time_alarm_fired();
}

/* The timer's interrupt at clock ns `until`. */
static void arm(uint64_t until)
{
	static int registered;
	if (!registered) {
		uf_trap_set_handler(VIRTUAL_TIMER_IRQ, timer_fired);
		registered = 1;
	}
	uint64_t ticks = until / NSEC_PER_SEC * frequency + until % NSEC_PER_SEC * frequency / NSEC_PER_SEC;
	set_compare(boot_count + ticks + 1);
	set_control(CNTV_CTL_ENABLE);
}

void uf_arch_alarm(uint64_t until)
{
	if (until == UINT64_MAX)
		set_control(0);
	else
		arm(until);
}

void uf_arch_clock_wait(uint64_t until)
{
	arm(until);
	/* wfi wakes on the pending interrupt even with IRQs masked; unmasking after it lets the handler run. */
	__asm__ volatile("wfi; cpsie i; nop; cpsid i" ::: "memory");
	set_control(0);
}

/* PL031: its data register (offset 0) counts seconds since 1970. */
int uf_arch_wall_offset(uint64_t *offset)
{
	uint64_t base, size;
	int node = uf_fdt_find_compatible("arm,pl031", -1);
	if (node < 0 || uf_fdt_reg(node, 0, &base, &size) < 0)
		return -1;
	uint32_t seconds = *(volatile uint32_t *)(uintptr_t)base;
	*offset = (uint64_t)seconds * NSEC_PER_SEC - uf_arch_clock_ns();
	return 0;
}
