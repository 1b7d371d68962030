/* ARMv7-A helpers shared by the library-OS modules: CP15 system registers, barriers, cache and TLB maintenance,
 * MMIO. Names follow the ARM ARM (B4.1, B6.1 "About the system control registers"). */
#ifndef UF_ARMV7_H
#define UF_ARMV7_H

#include <stdint.h>

/* A 32-bit CP15 register `name` at (opc1, CRn, CRm, opc2): uf_read_<name>() and uf_write_<name>(v). */
#define UF_CP15_REG(name, opc1, crn, crm, opc2) \
	static inline uint32_t uf_read_##name(void) \
	{ \
		uint32_t v; \
		__asm__ volatile("mrc p15, " #opc1 ", %0, " #crn ", " #crm ", " #opc2 : "=r"(v)); \
		return v; \
	} \
	static inline void uf_write_##name(uint32_t v) \
	{ \
		__asm__ volatile("mcr p15, " #opc1 ", %0, " #crn ", " #crm ", " #opc2 : : "r"(v) : "memory"); \
	}
/* A CP15 operation that takes a register (an address, or 0): uf_<name>(v). */
#define UF_CP15_OP(name, opc1, crn, crm, opc2) \
	static inline void uf_##name(uint32_t v) \
	{ \
		__asm__ volatile("mcr p15, " #opc1 ", %0, " #crn ", " #crm ", " #opc2 : : "r"(v) : "memory"); \
	}

UF_CP15_REG(midr, 0, c0, c0, 0)
UF_CP15_REG(mpidr, 0, c0, c0, 5)
UF_CP15_REG(ccsidr, 1, c0, c0, 0)       /* cache size of the level/type CSSELR selects */
UF_CP15_REG(clidr, 1, c0, c0, 1)
UF_CP15_REG(csselr, 2, c0, c0, 0)
UF_CP15_REG(sctlr, 0, c1, c0, 0)
UF_CP15_REG(actlr, 0, c1, c0, 1)       /* IMPLEMENTATION DEFINED layout */
UF_CP15_REG(cpacr, 0, c1, c0, 2)
UF_CP15_REG(ttbr0, 0, c2, c0, 0)
UF_CP15_REG(ttbcr, 0, c2, c0, 2)
UF_CP15_REG(dacr, 0, c3, c0, 0)
UF_CP15_REG(dfsr, 0, c5, c0, 0)
UF_CP15_REG(ifsr, 0, c5, c0, 1)
UF_CP15_REG(dfar, 0, c6, c0, 0)
UF_CP15_REG(ifar, 0, c6, c0, 2)
UF_CP15_REG(vbar, 0, c12, c0, 0)

UF_CP15_OP(iciallu, 0, c7, c5, 0)       /* invalidate the whole instruction cache */
UF_CP15_OP(bpiall, 0, c7, c5, 6)        /* invalidate the branch predictor */
UF_CP15_OP(dcisw, 0, c7, c6, 2)         /* invalidate a data cache line by set/way */
UF_CP15_OP(dccmvau, 0, c7, c11, 1)      /* clean a data cache line by address to the point of unification */
UF_CP15_OP(tlbiall, 0, c8, c7, 0)       /* invalidate the whole (unified) TLB */

#define UF_SCTLR_M   (1u << 0)          /* MMU */
#define UF_SCTLR_A   (1u << 1)          /* alignment checks */
#define UF_SCTLR_C   (1u << 2)          /* data and unified caches */
#define UF_SCTLR_Z   (1u << 11)         /* branch prediction */
#define UF_SCTLR_I   (1u << 12)         /* instruction cache */
#define UF_SCTLR_V   (1u << 13)         /* high vectors (0xffff0000) instead of VBAR */
#define UF_SCTLR_TRE (1u << 28)         /* TEX remap */
#define UF_SCTLR_AFE (1u << 29)         /* access flag enable */
#define UF_SCTLR_TE  (1u << 30)         /* exceptions in Thumb state */

static inline void uf_dsb(void)
{
	__asm__ volatile("dsb sy" ::: "memory");
}

static inline void uf_isb(void)
{
	__asm__ volatile("isb" ::: "memory");
}

static inline void uf_dmb(void)
{
	__asm__ volatile("dmb sy" ::: "memory");
}

/* Device registers: one access each, in program order with other device accesses (Device memory). */
static inline uint32_t uf_mmio_read32(uintptr_t a)
{
	return *(volatile uint32_t *)a;
}

static inline void uf_mmio_write32(uintptr_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

#endif
