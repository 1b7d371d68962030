/* x86_64 clock: the TSC, scaled to nanoseconds with a pvclock's parameters (Xen's or kvmclock's) or a frequency from
 * CPUID or the PIT. Boot only records the TSC; the source is chosen (and any PIT calibration paid) on the first read. */
#include <stdint.h>

#include <uf/xen.h>

#include "arch.h"
#include "tsc.h"

/* Weak: Xen's shared info page (module xen) is only there on Xen targets; elsewhere this is NULL. */
volatile struct uf_xen_shared_info *uf_xen_shared_info(void) __attribute__((weak));

#ifdef UF_DEBUG
#include <uf/console.h>
#endif

#define NSEC_PER_SEC 1000000000ull

#define CPUID_HYPERVISOR (1u << 31)     /* CPUID.1:ECX: running under a hypervisor */
#define KVM_CLOCKSOURCE2 (1u << 3)      /* CPUID.0x40000001:EAX: MSR_KVM_SYSTEM_TIME_NEW exists */
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00

#define PIT_HZ 1193182                  /* 105/88 MHz, rounded as QEMU does */
#define PIT_CH2 0x42
#define PIT_MODE 0x43
#define PIT_GATE 0x61                   /* bit 0: channel 2 gate, bit 1: speaker */
#define PIT_EDGES 40                    /* high-byte steps (256 ticks, 0.21 ms each) timed: 8.6 ms */

/* KVM's pvclock_vcpu_time_info (Documentation/virt/kvm/x86/msr.rst) is Xen's vcpu_time_info, whose layout uf/xen.h
 * declares: the hypervisor makes version odd while it rewrites the rest, then even again. */
_Static_assert(sizeof(struct uf_xen_vcpu_time) == 32, "pvclock ABI is 32 bytes");

/* KVM's pvclock_wall_clock: the wall-clock time at which kvmclock read 0, written when the MSR is. */
struct pvclock_wall {
	uint32_t version;
	uint32_t sec;
	uint32_t nsec;
};

/* ns = ns0 + ((tsc - tsc0) << shift) * mul / 2^32, a negative shift meaning a right shift: kvmclock's form, which
 * every source is put in so one conversion (and its inverse, for the TSC-deadline timer) serves all. */
struct scale {
	uint64_t tsc0, ns0;
	uint32_t mul;
	int shift;
};

/* Aligned so it never crosses a page: the hypervisor writes it by guest-physical address. */
static volatile struct uf_xen_vcpu_time kvmclock __attribute__((aligned(64)));
/* The pvclock in use: kvmclock's, or vCPU 0's vcpu_time_info in Xen's shared info page (the same ABI). */
static volatile struct uf_xen_vcpu_time *pvclock = &kvmclock;
static struct scale fixed;      /* every source but a pvclock: a constant frequency from TSC 0 */
static const char *source;      /* NULL until the first clock read */
static uint64_t boot_tsc;       /* the TSC at uf_arch_clock_boot() */
static uint64_t boot_ns;        /* the scale's reading at boot_tsc: the clock counts from boot */
static uint64_t last_ns;        /* clamp: nothing after a host-side kvmclock update may read earlier */

static uint64_t scale_delta(const struct scale *s, uint64_t d)
{
	d = s->shift >= 0 ? d << s->shift : d >> -s->shift;
	return (uint64_t)(((unsigned __int128)d * s->mul) >> 32);
}

/* Also for a TSC before tsc0: the boot TSC predates kvmclock's first update. TSC values compare modulo 2^64: Xen
 * stamps a guest's pvclock with the guest's TSC, which is "negative" for an update made before the guest began. */
static uint64_t scale_ns(const struct scale *s, uint64_t tsc)
{
	return (int64_t)(tsc - s->tsc0) >= 0 ? s->ns0 + scale_delta(s, tsc - s->tsc0)
					     : s->ns0 - scale_delta(s, s->tsc0 - tsc);
}

/* The kvmclock form of a frequency: shift so that hz * 2^shift is in (1e9, 2e9], which puts mul in [2^31, 2^32). */
static struct scale scale_for_hz(uint64_t hz)
{
	struct scale s = {0, 0, 0, 0};
	while (hz > 2 * NSEC_PER_SEC) {
		hz >>= 1;
		s.shift--;
	}
	while (hz <= NSEC_PER_SEC) {
		hz <<= 1;
		s.shift++;
	}
	s.mul = (uint32_t)((NSEC_PER_SEC << 32) / hz);
	return s;
}

/* A consistent copy of the pvclock's parameters and a TSC read that belongs with them. */
static void pvclock_read(struct scale *s, uint64_t *tsc)
{
	uint32_t v;
	do {
		v = pvclock->version;
		s->tsc0 = pvclock->tsc_timestamp;
		s->ns0 = pvclock->system_time;
		s->mul = pvclock->tsc_to_system_mul;
		s->shift = pvclock->tsc_shift;
		*tsc = tsc_ordered();   /* x86 keeps loads in order: the fields are read before the version again */
	} while ((v & 1) || v != pvclock->version);
}

/* The CPUID base of the hypervisor whose 12-byte signature (EBX, ECX, EDX) is `sig`, or 0. */
static uint32_t hypervisor_base(const char *sig)
{
	uint32_t r[4];
	uf_cpuid(1, 0, r);
	if (!(r[2] & CPUID_HYPERVISOR))
		return 0;
	/* 0x40000100 is where KVM and Xen move their leaves when they also offer Hyper-V's at 0x40000000. */
	for (uint32_t base = 0x40000000; base <= 0x40000100; base += 0x100) {
		uf_cpuid(base, 0, r);
		int i = 0;
		while (i < 12 && (uint8_t)(r[1 + i / 4] >> (i % 4 * 8)) == (uint8_t)sig[i])
			i++;
		if (i == 12)
			return base;
	}
	return 0;
}

static int kvmclock_start(void)
{
	uint32_t r[4], base = hypervisor_base("KVMKVMKVM\0\0\0");
	if (!base)
		return 0;
	uf_cpuid(base + 1, 0, r);
	if (!(r[0] & KVM_CLOCKSOURCE2))
		return 0;
	/* Assumes the kernel image is identity-mapped, so the struct's address is its physical address. Bit 0 enables. */
	uf_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)&kvmclock | 1);
	if (kvmclock.tsc_to_system_mul)     /* filled in before the wrmsr returns to us */
		return 1;
	uf_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	return 0;
}

/* Xen's pvclock: Xen keeps vCPU 0's time parameters in the shared info page (mapped by module xen). */
static int xen_pvclock_start(void)
{
	if (!uf_xen_shared_info || !hypervisor_base("XenVMMXenVMM"))
		return 0;
	volatile struct uf_xen_shared_info *si = uf_xen_shared_info();
	if (!si || !si->vcpu_info[0].time.tsc_to_system_mul)
		return 0;
	pvclock = &si->vcpu_info[0].time;
	return 1;
}

static int under_hypervisor(void)
{
	uint32_t r[4];
	uf_cpuid(1, 0, r);
	return !!(r[2] & CPUID_HYPERVISOR);
}

/* Under a hypervisor only its own timing leaves describe the guest's TSC: it may pass the host's 0x15/0x16
 * through while scaling the guest TSC. Xen: leaf base+3 ECX, in kHz. */
static uint64_t xen_leaf_hz(void)
{
	uint32_t r[4], base = hypervisor_base("XenVMMXenVMM");
	if (!base)
		return 0;
	uf_cpuid(base, 0, r);
	if (r[0] < base + 3)
		return 0;
	uf_cpuid(base + 3, 0, r);
	return (uint64_t)r[2] * 1000;
}

/* The timing leaf VMware defined and QEMU offers (vmware-cpuid-freq): EAX = TSC kHz. */
static uint64_t timing_leaf_hz(void)
{
	uint32_t r[4];
	if (!under_hypervisor())
		return 0;
	uf_cpuid(0x40000000, 0, r);
	if (r[0] < 0x40000010)
		return 0;
	uf_cpuid(0x40000010, 0, r);
	return (uint64_t)r[0] * 1000;
}

/* Bare metal: TSC = crystal (ECX) * EBX / EAX, when the CPU fills in all three (Intel since Skylake, mostly). */
static uint64_t leaf15_hz(void)
{
	uint32_t r[4];
	uf_cpuid(0, 0, r);
	if (under_hypervisor() || r[0] < 0x15)
		return 0;
	uf_cpuid(0x15, 0, r);
	return r[0] && r[1] && r[2] ? (uint64_t)r[2] * r[1] / r[0] : 0;
}

/* Bare metal: the base frequency in whole MHz, which the TSC runs at on Intel parts that leave 0x15's crystal out.
 * Rounded to 1 MHz, so up to ~500 ppm off: after 0x15, but before a PIT calibration, which costs 9 ms. */
static uint64_t leaf16_hz(void)
{
	uint32_t r[4];
	uf_cpuid(0, 0, r);
	if (under_hypervisor() || r[0] < 0x16)
		return 0;
	uf_cpuid(0x16, 0, r);
	return (uint64_t)(r[0] & 0xffff) * 1000000;
}

/* A step of PIT channel 2's high byte, and the TSC interval it happened in. */
struct pit_edge {
	uint64_t lo, hi;
	uint8_t msb;
};

/* Waits for the next step: it happened after the read before the last unchanged one began, and before the read
 * that saw it ended. 0 if the PIT is absent. */
static int pit_edge(struct pit_edge *e)
{
	uint64_t start = tsc_ordered(), prev = start, t;
	uint8_t old = uf_inb(PIT_CH2), m;
	for (;;) {
		t = tsc_ordered();
		m = uf_inb(PIT_CH2);
		if (m == (uint8_t)(old - 1))
			break;
		if (t - start > (1ull << 27))   /* >= 20 ms even at 6 GHz, where a step takes 0.21 ms */
			return 0;
		old = m;                        /* a missed step (preempted host thread) must not count as this one */
		prev = t;
	}
	e->lo = prev;
	e->hi = tsc_ordered();
	e->msb = m;
	return 1;
}

/* Times PIT_EDGES steps of the PIT counter's high byte (MSB-only reads, one inb each). A step is exact in PIT time,
 * so an edge's error is only the width of its TSC interval: a few hundred ns normally, but tens of us when a
 * read is delayed by the host (an emulator's I/O lock, a preempted vCPU; TCG is slow for the first ms or so).
 * The frequency comes from the pair of edges whose widths are the smallest fraction of the time between them. */
static uint64_t pit_hz(void)
{
	struct pit_edge e[PIT_EDGES];
	int a = 0, b = PIT_EDGES - 1;

	uf_outb(PIT_GATE, (uf_inb(PIT_GATE) & ~0x02) | 0x01);   /* gate on, speaker off */
	uf_outb(PIT_MODE, 0xa0);        /* channel 2, high byte only, mode 0, binary */
	uf_outb(PIT_CH2, 0xff);         /* count down from 0xff00: 55 ms before it wraps */
	for (int i = 0; i < PIT_EDGES; i++)
		if (!pit_edge(&e[i]))
			return 0;
	for (int i = 0; i < PIT_EDGES; i++)
		for (int j = i + 1; j < PIT_EDGES; j++)
			if ((e[i].hi - e[i].lo + e[j].hi - e[j].lo) * (e[b].hi - e[a].lo) <
			    (e[a].hi - e[a].lo + e[b].hi - e[b].lo) * (e[j].hi - e[i].lo))
				a = i, b = j;
	uint64_t ticks = (uint64_t)(uint8_t)(e[a].msb - e[b].msb) * 256;
	uint64_t tsc = (e[b].lo + e[b].hi) / 2 - (e[a].lo + e[a].hi) / 2;
#ifdef UF_DEBUG
	uf_printk("time: PIT calibration: %lu TSC ticks in %lu PIT ticks, error below %lu ppm\n", tsc, ticks,
		  (e[a].hi - e[a].lo + e[b].hi - e[b].lo) / 2 * 1000000 / tsc);
#endif
	return tsc * PIT_HZ / ticks;
}

static void choose_source(void);

/* The scale in force and a TSC read that belongs with it. */
static void current_scale(struct scale *s, uint64_t *tsc)
{
	if (!source)
		choose_source();
	if (fixed.mul) {
		*s = fixed;
		*tsc = tsc_ordered();
	} else {
		pvclock_read(s, tsc);
	}
}

/* Where time comes from, best first: the one place that decides. */
static void choose_source(void)
{
	const char *name = "kvmclock";
	struct scale s;
	uint64_t hz, tsc;

	if (xen_pvclock_start()) {
		hz = 0;
		name = "xen-pvclock";
	} else if (kvmclock_start())
		hz = 0;
	else if ((hz = xen_leaf_hz()))
		name = "xen-cpuid";
	else if ((hz = timing_leaf_hz()))
		name = "cpuid-0x40000010";
	else if ((hz = leaf15_hz()))
		name = "cpuid-0x15";
	else if ((hz = leaf16_hz()))
		name = "cpuid-0x16";
	else if ((hz = pit_hz()))
		name = "pit";
	else {  /* no PIT either (a PVH guest without timing leaves): a guess, so sleeps will be off */
		name = "none";
		hz = NSEC_PER_SEC;
	}
	if (hz)
		fixed = scale_for_hz(hz);
	source = name;
	if (!boot_tsc)          /* used before module init ran */
		boot_tsc = tsc_ordered();
	current_scale(&s, &tsc);
	boot_ns = scale_ns(&s, boot_tsc);
#ifdef UF_DEBUG
	hz = (NSEC_PER_SEC << 32) / s.mul;      /* the frequency the scale stands for */
	uf_printk("time: clock source %s, %lu kHz\n", name, (s.shift >= 0 ? hz >> s.shift : hz << -s.shift) / 1000);
#endif
}

void uf_arch_clock_boot(void)
{
	boot_tsc = tsc_ordered();
}

uint64_t uf_arch_clock_ns(void)
{
	struct scale s;
	uint64_t tsc, ns;
	current_scale(&s, &tsc);
	ns = scale_ns(&s, tsc) - boot_ns;
	if (ns < last_ns)
		return last_ns;
	return last_ns = ns;
}

const char *uf_arch_clock_source(void)
{
	if (!source)
		choose_source();
	return source;
}

/* Inverse of scale_ns, rounded up so a deadline never fires before `ns`. Callers keep ns - now below 2^32
 * (4.29 s), which keeps the shifted difference within 64 bits. */
uint64_t uf_tsc_at_ns(uint64_t ns)
{
	struct scale s;
	uint64_t tsc, now, d;
	current_scale(&s, &tsc);
	now = scale_ns(&s, tsc) - boot_ns;
	if (ns <= now)
		return tsc;
	d = (((ns - now) << 32) + s.mul - 1) / s.mul;
	d = s.shift >= 0 ? (d + (1ull << s.shift) - 1) >> s.shift : d << -s.shift;
	return tsc + d;
}

/* Xen's wall clock: the time at Xen's system time 0, in the shared info page; all 0 when Xen knows none. */
static int xen_wall_offset(uint64_t *offset)
{
	volatile struct uf_xen_shared_info *si = uf_xen_shared_info();
	uint32_t v, hi, sec, nsec;
	do {
		v = si->wc_version;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		hi = si->wc_sec_hi;
		sec = si->wc_sec;
		nsec = si->wc_nsec;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((v & 1) || v != si->wc_version);
	if (!hi && !sec)
		return -1;
	*offset = ((uint64_t)hi << 32 | sec) * NSEC_PER_SEC + nsec + boot_ns;
	return 0;
}

int uf_pvclock_wall_offset(uint64_t *offset)
{
	static volatile struct pvclock_wall wall __attribute__((aligned(16)));
	uint32_t v, sec, nsec;

	if (!source)
		choose_source();
	if (fixed.mul)
		return -1;
	if (pvclock != &kvmclock)
		return xen_wall_offset(offset);
	do {
		uf_wrmsr(MSR_KVM_WALL_CLOCK_NEW, (uint64_t)(uintptr_t)&wall);  /* identity-mapped, as kvmclock */
		v = wall.version;
		sec = wall.sec;
		nsec = wall.nsec;
	} while ((v & 1) || v != wall.version);
	/* The wall clock is for kvmclock's 0; this clock's 0 is boot_ns later. */
	*offset = (uint64_t)sec * NSEC_PER_SEC + nsec + boot_ns;
	return 0;
}
