/* x86_64 waiting: the local APIC timer in TSC-deadline mode wakes a halted CPU, so a sleeping guest costs the host
 * nothing. Without TSC-deadline, a pause loop (the caller re-reads the clock after each). */
#include <stdint.h>

#include <uf/time.h>
#include <uf/trap.h>

#include "arch.h"
#include "tsc.h"

/* Module trap's, not yet in <uf/trap.h>: routes an interrupt vector to fn; its stub sends the local APIC
 * an EOI and returns from the interrupt when fn returns. (Redundant, and harmless, once trap.h declares it.) */
void uf_trap_set_handler(int vector, void (*fn)(void));

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
#define LVT_TSC_DEADLINE (2u << 17)

/* Shorter waits spin: halting costs a timer setup and a wake-up (tens of us under QEMU) for no host gain. */
#define MIN_HALT_NS 50000
/* Longer waits re-arm on waking; this keeps uf_tsc_at_ns within its range. */
#define MAX_ARM_NS (1ull << 31)

static enum { UNSET, SPIN, XAPIC, X2APIC } mode;
static volatile uint32_t *xapic;

static uint32_t apic_read(unsigned reg)
{
	return mode == X2APIC ? (uint32_t)uf_rdmsr(MSR_X2APIC_FIRST + reg / 16) : xapic[reg / 4];
}

static void apic_write(unsigned reg, uint32_t v)
{
	if (mode == X2APIC)
		uf_wrmsr(MSR_X2APIC_FIRST + reg / 16, v);
	else
		xapic[reg / 4] = v;
}

/* The wake-up is all it is for; the trap stub sends the EOI when this returns. */
static void on_timer(void)
{
}

static void setup(void)
{
	uint32_t r[4];
	uint64_t base;

	mode = SPIN;
	uf_cpuid(1, 0, r);
	if (!(r[3] & CPUID_APIC) || !(r[2] & CPUID_TSC_DEADLINE))
		return;
	base = uf_rdmsr(MSR_APIC_BASE);
	if (!(base & APIC_BASE_ENABLE))
		return;
	mode = base & APIC_BASE_X2APIC ? X2APIC : XAPIC;
	xapic = (volatile uint32_t *)(uintptr_t)(base & 0x000ffffffffff000ull);   /* identity-mapped */

	uf_trap_set_handler(UF_TIME_VECTOR, on_timer);
	/* LVT entries stay masked while the APIC is software-disabled, which is how it comes out of reset. Keep
	 * the spurious vector of whoever enabled it first; otherwise take 0xff (spurious interrupts get no EOI,
	 * and a stray EOI with nothing in service is ignored, so the same no-op handler serves). */
	if (!(apic_read(APIC_SVR) & APIC_SVR_ENABLE)) {
		uf_trap_set_handler(UF_TIME_SPURIOUS_VECTOR, on_timer);
		apic_write(APIC_SVR, APIC_SVR_ENABLE | UF_TIME_SPURIOUS_VECTOR);
	}
	apic_write(APIC_LVT_TIMER, LVT_TSC_DEADLINE | UF_TIME_VECTOR);
	/* SDM 10.5.4.1: the MMIO write to the LVT must be ordered before the WRMSR to IA32_TSC_DEADLINE. */
	__asm__ volatile("mfence" : : : "memory");
}

void uf_arch_clock_wait(uint64_t until)
{
	uint64_t now = uf_arch_clock_ns();

	if (mode == UNSET)
		setup();
	if (until <= now)
		return;
	if (mode == SPIN || until - now < MIN_HALT_NS) {
		__asm__ volatile("pause");
		return;
	}
	if (until - now > MAX_ARM_NS)
		until = now + MAX_ARM_NS;
	uf_wrmsr(MSR_TSC_DEADLINE, uf_tsc_at_ns(until));
	/* Interrupts are off everywhere else. sti's one-instruction shadow means a deadline that already passed
	 * still wakes the hlt rather than being taken before it. */
	__asm__ volatile("sti; hlt; cli" : : : "memory");
}
