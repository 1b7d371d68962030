/* Device interrupt routing on x86_64 (Intel SDM vol. 3 ch. 10 "APIC"; 82093AA IOAPIC datasheet). Module time
 * owns the APIC timer; both enable the APIC the same way, and whoever is first sets the spurious vector. */
#include <uf/trap.h>
#include <uf/x86-irq.h>
#include <uf/x86_64.h>

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_X2APIC (1u << 10)
#define MSR_X2APIC_ID 0x802
#define MSR_X2APIC_SVR 0x80f
#define XAPIC_ID 0x20
#define XAPIC_SVR 0xf0
#define SVR_ENABLE 0x100
#define SPURIOUS_VECTOR 0xff            /* as module time's: spurious interrupts get no EOI, so one no-op serves */

#define FIRST_VECTOR 0x40               /* below: exceptions and room; 0xec and 0xff belong to module time */
#define LAST_VECTOR 0xdf

#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPIC_VER 0x01
#define IOREDTBL(pin) (0x10 + 2 * (pin))
#define RTE_LEVEL (1u << 15)
#define MSI_ADDRESS 0xfee00000u

static const uintptr_t ioapic_base[] = { 0xfec00000, 0xfec10000 };
static int ioapic_pins[2] = { -1, -1 };   /* -1: not probed; 0: absent */
static int next_vector = FIRST_VECTOR;
static uint32_t apic_id;
static int apic_ready;

static uint32_t ioapic_read(uintptr_t base, uint32_t reg)
{
	*(volatile uint32_t *)(base + IOREGSEL) = reg;
	return *(volatile uint32_t *)(base + IOWIN);
}

static void ioapic_write(uintptr_t base, uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(base + IOREGSEL) = reg;
	*(volatile uint32_t *)(base + IOWIN) = v;
}

static void spurious(void)
{
}

/* Software-enables the local APIC (it comes out of reset disabled, dropping interrupts) and reads our ID. */
static void apic_setup(void)
{
	uint64_t base = uf_rdmsr(MSR_APIC_BASE);
	if (base & APIC_BASE_X2APIC) {
		apic_id = (uint32_t)uf_rdmsr(MSR_X2APIC_ID);
		if (!(uf_rdmsr(MSR_X2APIC_SVR) & SVR_ENABLE)) {
			uf_trap_set_handler(SPURIOUS_VECTOR, spurious);
			uf_wrmsr(MSR_X2APIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
		}
	} else {
		volatile uint32_t *apic = (volatile uint32_t *)(uintptr_t)(base & 0x000ffffffffff000ull);
		apic_id = apic[XAPIC_ID / 4] >> 24;
		if (!(apic[XAPIC_SVR / 4] & SVR_ENABLE)) {
			uf_trap_set_handler(SPURIOUS_VECTOR, spurious);
			apic[XAPIC_SVR / 4] = SVR_ENABLE | SPURIOUS_VECTOR;
		}
	}
	apic_ready = 1;
}

static int take_vector(void (*fn)(void))
{
	if (next_vector > LAST_VECTOR)
		return -1;
	if (!apic_ready)
		apic_setup();
	uf_trap_set_handler(next_vector, fn);
	return next_vector++;
}

/* Pins of IOAPIC i: its version register's maximum redirection entry + 1; 0 if nothing valid answers there
 * (unassigned addresses read as all zeros or all ones, neither a version 0x1x/0x2x). */
static int pins_of(int i)
{
	if (ioapic_pins[i] < 0) {
		uint32_t ver = ioapic_read(ioapic_base[i], IOAPIC_VER);
		int version = ver & 0xff;
		ioapic_pins[i] = version >= 0x10 && version <= 0x2f ? (int)((ver >> 16) & 0xff) + 1 : 0;
	}
	return ioapic_pins[i];
}

int uf_irq_gsi_count(void)
{
	/* GSIs are numbered through the IOAPICs in order (the second starts where the first ends). */
	return pins_of(0) + (pins_of(0) ? pins_of(1) : 0);
}

int uf_irq_route_gsi(int gsi, void (*fn)(void))
{
	int i = 0;
	if (gsi < 0 || gsi >= uf_irq_gsi_count())
		return -1;
	if (gsi >= pins_of(0)) {
		gsi -= pins_of(0);
		i = 1;
	}
	int vector = take_vector(fn);
	if (vector < 0)
		return -1;
	ioapic_write(ioapic_base[i], IOREDTBL(gsi) + 1, apic_id << 24);        /* physical destination */
	ioapic_write(ioapic_base[i], IOREDTBL(gsi), RTE_LEVEL | vector);       /* fixed, active high, unmasked */
	return 0;
}

int uf_irq_msi(void (*fn)(void), uint64_t *address, uint32_t *data)
{
	int vector = take_vector(fn);
	if (vector < 0)
		return -1;
	*address = MSI_ADDRESS | (apic_id & 0xff) << 12;
	*data = vector;
	return 0;
}
