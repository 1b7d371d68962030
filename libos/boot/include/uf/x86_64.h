/* x86_64 helpers shared by the library-OS modules: port I/O (port first), MSRs, CPUID, TSC, control registers. */
#ifndef UF_X86_64_H
#define UF_X86_64_H

#include <stddef.h>
#include <stdint.h>

#define UF_MSR_EFER     0xc0000080
#define UF_MSR_FS_BASE  0xc0000100
#define UF_EFER_NXE     (1u << 11)
#define UF_CR0_WP       (1u << 16)

static inline uint8_t uf_inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t uf_inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t uf_inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void uf_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void uf_outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void uf_outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t uf_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void uf_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

/* r = eax, ebx, ecx, edx of leaf/subleaf */
static inline void uf_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/* Not ordered against earlier loads; put an lfence before it where that matters. */
static inline uint64_t uf_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

#define UF_CR_ACCESSORS(n) \
	static inline uint64_t uf_read_cr##n(void) \
	{ \
		uint64_t v; \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)); \
		return v; \
	} \
	static inline void uf_write_cr##n(uint64_t v) \
	{ \
		__asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); \
	}
UF_CR_ACCESSORS(0)
UF_CR_ACCESSORS(2)
UF_CR_ACCESSORS(3)
UF_CR_ACCESSORS(4)
#undef UF_CR_ACCESSORS

/* Module boot: puts a 64-bit TSS into the GDT and loads the task register with it. */
void uf_x86_load_tss(const void *tss, size_t size);

#endif
