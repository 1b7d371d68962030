/* x86_64 waiting: the local APIC timer wakes a halted CPU, so a sleeping guest costs the host nothing. TSC-deadline
 * mode where the CPU has it (KVM, hardware); else one-shot mode with the timer's rate measured against the clock
 * (QEMU's TCG has no TSC-deadline); else, or for short waits, a pause loop. */
#include <stdint.h>

#include <uf/thread.h>
#include <uf/time.h>
#include <uf/trap.h>

#include "arch.h"
#include "tsc.h"

#define NSEC_PER_SEC 1000000000ull
#define CPUID_APIC (1u << 9)            /* CPUID.1:EDX */
#define CPUID_TSC_DEADLINE (1u << 24)   /* CPUID.1:ECX */
#define MSR_APIC_BASE 0x1b
#define APIC_BASE_X2APIC (1u << 10)
#define APIC_BASE_ENABLE (1u << 11)
#define MSR_X2APIC_FIRST 0x800          /* x2APIC register = 0x800 + xAPIC offset / 16 */
#define MSR_TSC_DEADLINE 0x6e0
#define APIC_SVR 0xf0
#define APIC_SVR_ENABLE 0x100
#define APIC_LVT_TIMER 0x320
#define APIC_TIMER_INITIAL 0x380
#define APIC_TIMER_CURRENT 0x390
#define APIC_TIMER_DIVIDE 0x3e0
#define LVT_MASKED (1u << 16)
#define LVT_TSC_DEADLINE (2u << 17)     /* else (0) one-shot */
#define DIVIDE_BY_1 0xb

/* Shorter waits spin: halting costs a timer setup and a wake-up (tens of us under QEMU) for no host gain. */
#define MIN_HALT_NS 50000
/* Longer waits re-arm on waking; this keeps uf_tsc_at_ns in range and a one-shot count within 32 bits. */
#define MAX_ARM_NS (1ull << 31)
/* One-shot mode: how long the timer's rate is measured for, within the first wait long enough to hide it. */
#define CALIBRATE_NS 1000000

static enum { UNSET, SPIN, DEADLINE, ONESHOT } mode;
static int x2apic;
static volatile uint32_t *xapic;
static uint64_t oneshot_khz;    /* one-shot mode: timer ticks per ms, 0 until measured */

static uint32_t apic_read(unsigned reg)
{
	return x2apic ? (uint32_t)uf_rdmsr(MSR_X2APIC_FIRST + reg / 16) : xapic[reg / 4];
}

static void apic_write(unsigned reg, uint32_t v)
{
	if (x2apic)
		uf_wrmsr(MSR_X2APIC_FIRST + reg / 16, v);
	else
		xapic[reg / 4] = v;
}

/* A halt's wake-up is all it is for without threads; the trap stub sends the EOI when this returns. */
static void on_timer(void)
{
	if (UF_THREADED)
		uf_time_alarm_fired();
}

static void setup(void)
{
	uint32_t r[4];
	uint64_t base;

	mode = SPIN;
	uf_cpuid(1, 0, r);
	base = r[3] & CPUID_APIC ? uf_rdmsr(MSR_APIC_BASE) : 0;
	if (!(base & APIC_BASE_ENABLE))
		return;
	x2apic = !!(base & APIC_BASE_X2APIC);
	xapic = (volatile uint32_t *)(uintptr_t)(base & 0x000ffffffffff000ull);   /* identity-mapped */

	uf_trap_set_handler(UF_TIME_VECTOR, on_timer);
	/* LVT entries stay masked while the APIC is software-disabled, which is how it comes out of reset. Keep
	 * the spurious vector of whoever enabled it first; otherwise take 0xff (spurious interrupts get no EOI,
	 * and a stray EOI with nothing in service is ignored, so the same no-op handler serves). */
	if (!(apic_read(APIC_SVR) & APIC_SVR_ENABLE)) {
		uf_trap_set_handler(UF_TIME_SPURIOUS_VECTOR, on_timer);
		apic_write(APIC_SVR, APIC_SVR_ENABLE | UF_TIME_SPURIOUS_VECTOR);
	}
	if (r[2] & CPUID_TSC_DEADLINE) {
		mode = DEADLINE;
		apic_write(APIC_LVT_TIMER, LVT_TSC_DEADLINE | UF_TIME_VECTOR);
		/* SDM 10.5.4.1: order the LVT write (MMIO in xAPIC mode) before the first WRMSR to IA32_TSC_DEADLINE. */
		__asm__ volatile("mfence" : : : "memory");
	} else {
		mode = ONESHOT;
		apic_write(APIC_TIMER_DIVIDE, DIVIDE_BY_1);
		apic_write(APIC_LVT_TIMER, LVT_MASKED | UF_TIME_VECTOR);
	}
}

/* The one-shot timer's rate, measured so that it can only come out low: each count read lies inside the clock
 * reads around it, so a delay (a preempted vCPU) shortens the count, not the time. Too low a rate makes a wait
 * wake early and re-arm, never late. */
static void calibrate_oneshot(void)
{
	uint64_t t0, t1;
	uint32_t c0, c1;

	apic_write(APIC_TIMER_INITIAL, UINT32_MAX);
	t0 = uf_arch_clock_ns();
	c0 = apic_read(APIC_TIMER_CURRENT);
	while (uf_arch_clock_ns() - t0 < CALIBRATE_NS)
		__asm__ volatile("pause");
	c1 = apic_read(APIC_TIMER_CURRENT);
	t1 = uf_arch_clock_ns();
	apic_write(APIC_TIMER_INITIAL, 0);
	oneshot_khz = (uint64_t)(c0 - c1) * 1000000 / (t1 - t0);
	if (!oneshot_khz)               /* a timer that does not count */
		mode = SPIN;
	else
		apic_write(APIC_LVT_TIMER, UF_TIME_VECTOR);
}

/* Arms the one-shot timer for clock ns `until` (the caller's now is `now`): TSC deadline, or a count. */
static void arm(uint64_t now, uint64_t until)
{
	uint64_t left = until > now ? until - now : 0;
	if (left > MAX_ARM_NS)
		left = MAX_ARM_NS;
	if (mode == DEADLINE) {
		uf_wrmsr(MSR_TSC_DEADLINE, uf_tsc_at_ns(now + left));
	} else {
		uint64_t count = left * oneshot_khz / 1000000;
		apic_write(APIC_TIMER_INITIAL, count > UINT32_MAX ? UINT32_MAX : count ? (uint32_t)count : 1);
	}
}

void uf_arch_alarm(uint64_t until)
{
	if (mode == UNSET)
		setup();
	if (mode == ONESHOT && !oneshot_khz)
		calibrate_oneshot();    /* once: a millisecond */
	if (mode == SPIN)
		return;                 /* no timer: no preemption, and waits spin */
	if (until == UINT64_MAX) {
		if (mode == DEADLINE)
			uf_wrmsr(MSR_TSC_DEADLINE, 0);
		else
			apic_write(APIC_TIMER_INITIAL, 0);
		return;
	}
	arm(uf_arch_clock_ns(), until);
}

void uf_arch_clock_wait(uint64_t until)
{
	uint64_t now = uf_arch_clock_ns(), left;

	if (mode == UNSET)
		setup();
	if (until <= now)
		return;
	left = until - now;
	if (mode == ONESHOT && !oneshot_khz && left >= 2 * CALIBRATE_NS) {
		calibrate_oneshot();
		return;                 /* the caller re-reads the clock: the measurement took part of the wait */
	}
	if (mode == SPIN || left < MIN_HALT_NS || (mode == ONESHOT && !oneshot_khz)) {
		__asm__ volatile("pause");
		return;
	}
	arm(now, until);
	/* Interrupts are off everywhere else. sti's one-instruction shadow means a timer that already fired still
	 * wakes the hlt rather than being taken before it. */
	__asm__ volatile("sti; hlt; cli" : : : "memory");
}
