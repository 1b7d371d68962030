/* x86_64 parts of the process: the thread pointer (FS base) and entropy. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <uf/process.h>
#include <uf/x86_64.h>

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define MSR_FS_BASE 0xc0000100

long uf_sys_arch_prctl(int code, unsigned long addr)
{
	switch (code) {
	case ARCH_SET_FS: uf_wrmsr(MSR_FS_BASE, addr); return 0;
	case ARCH_GET_FS: *(unsigned long *)addr = uf_rdmsr(MSR_FS_BASE); return 0;
	default: return -EINVAL;
	}
}

uint64_t uf_arch_counter(void)
{
	return uf_rdtsc();
}

/* Only what CPUID publishes (leaf 0x15: crystal * EBX / EAX), never a calibration: that costs milliseconds. */
uint64_t uf_arch_counter_hz(void)
{
	uint32_t r[4];
	uf_cpuid(0, 0, r);
	if (r[0] < 0x15)
		return 0;
	uf_cpuid(0x15, 0, r);
	return r[0] && r[1] && r[2] ? (uint64_t)r[2] * r[1] / r[0] : 0;
}

static int have_rdrand(void)
{
	uint32_t r[4];
	uf_cpuid(1, 0, r);
	return r[2] >> 30 & 1;          /* ECX.RDRAND */
}

/* RDRAND when the CPU has it; otherwise TSC readings stirred with a multiplicative hash (weak, but it changes
 * every boot, which is what a canary needs against accidents rather than attackers). */
void uf_arch_entropy(void *buf, size_t len)
{
	int rdrand = have_rdrand();
	uint64_t state = uf_rdtsc();
	for (size_t i = 0; i < len; i += 8) {
		uint64_t word = 0;
		int ok = 0;
		if (rdrand)
			for (int tries = 0; tries < 10 && !ok; tries++)
				__asm__ volatile("rdrand %0; setc %b1" : "=r"(word), "=q"(ok) :: "cc");
		if (!ok) {
			state = (state ^ uf_rdtsc()) * 0x9e3779b97f4a7c15ull;
			word = state ^ (state >> 29);
		}
		memcpy((char *)buf + i, &word, len - i < 8 ? len - i : 8);
	}
}
