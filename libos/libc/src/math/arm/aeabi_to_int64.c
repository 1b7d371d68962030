/* The conversions of a double or a float to a 64-bit integer, for which ARM's VFP has no instruction: the compiler
 * calls these run-time helpers of the ARM EABI (with the base calling convention: arguments in core registers),
 * and the compiler's own runtime computes them in integer code that raises no floating-point exception. C's
 * Annex F wants INVALID for NaN, infinities and values out of range (a gcc-built libc gets it: libgcc converts
 * through VFP's 32-bit conversions), and musl's llrint and llround rely on it. These do the same: the magnitude
 * in two 32-bit halves by VFP conversions (exact: the scaling is by a power of two, and the remainder holds the
 * low bits of an integer or the fraction of a number below 2^32), and out of range one more conversion, which
 * raises INVALID, with the saturated result VFP's own conversions give (0 for NaN). */
#include <stdint.h>

#define HELPER __attribute__((pcs("aapcs")))

/* 0 <= t < 2^64, truncated */
static uint64_t magnitude(double t)
{
	uint32_t high = t * 0x1p-32;
	uint32_t low = t - high * 0x1p32;
	return (uint64_t)high << 32 | low;
}

static void raise_invalid(double x)
{
	volatile int32_t sink = x;      /* beyond a 32-bit integer as well */
	(void)sink;
}

HELPER int64_t __aeabi_d2lz(double x)
{
	if (x >= -0x1p63 && x < 0x1p63)
		return x < 0.0 ? (int64_t)(0 - magnitude(-x)) : (int64_t)magnitude(x);
	raise_invalid(x);
	return x != x ? 0 : x < 0.0 ? INT64_MIN : INT64_MAX;
}

HELPER uint64_t __aeabi_d2ulz(double x)
{
	if (x > -1.0 && x < 0x1p64)
		return x > 0.0 ? magnitude(x) : 0;
	raise_invalid(x);
	return x != x || x < 0.0 ? 0 : UINT64_MAX;
}

HELPER int64_t __aeabi_f2lz(float x)
{
	return __aeabi_d2lz(x);
}

HELPER uint64_t __aeabi_f2ulz(float x)
{
	return __aeabi_d2ulz(x);
}
