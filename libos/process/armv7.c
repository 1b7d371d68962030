/* 32-bit ARM parts of the process: the thread pointer and entropy. */
#include <stdint.h>
#include <string.h>
#include <uf/process.h>

/* TPIDRURO: where musl (built for ARMv7) reads the thread pointer with mrc p15, 0, rX, c13, c0, 3. */
void uf_arch_set_thread_pointer(void *p)
{
	__asm__ volatile("mcr p15, 0, %0, c13, c0, 3" :: "r"(p));
}

uint64_t uf_arch_counter(void)
{
	uint32_t lo, hi;
	__asm__ volatile("isb; mrrc p15, 1, %0, %1, c14" : "=r"(lo), "=r"(hi));   /* CNTVCT */
	return (uint64_t)hi << 32 | lo;
}

uint64_t uf_arch_counter_hz(void)
{
	uint32_t hz;
	__asm__ volatile("mrc p15, 0, %0, c14, c0, 0" : "=r"(hz));     /* CNTFRQ, set by firmware/QEMU */
	return hz;
}

/* No RNG on the Cortex-A15: the virtual counter's low bits, stirred with a multiplicative hash. Different every
 * boot, which is what the canary needs against accidents; not a cryptographic source. */
void uf_arch_entropy(void *buf, size_t len)
{
	uint64_t state = uf_arch_counter();
	for (size_t i = 0; i < len; i += 8) {
		state = (state ^ uf_arch_counter()) * 0x9e3779b97f4a7c15ull;
		uint64_t word = state ^ (state >> 29);
		memcpy((char *)buf + i, &word, len - i < 8 ? len - i : 8);
	}
}
