/* The results of pow and powf that are exact and known without a logarithm: x^1 = x, and (±2^k)^y = ±2^(ky)
 * when ky is an integer in range. musl's pow and powf compute x^y as exp(y log x) with extra precision and
 * round that once, which in a directed rounding mode can step past an exact result (powf(FLT_MAX, 1) overflows
 * rounding upward) and below 2^-1022 raises UNDERFLOW on an exact result (pow(2, -1074)). C wants such results
 * exact and without exceptions, so pow and powf ask here first (musl.SOURCE_FIXES). */
#include <stdint.h>
#include "libm.h"

/* |x| = 2^k for a finite x other than 0: the exponent k, else 0 (x is not a power of two, or is ±1) */
static int power_of_two(double x)
{
	uint64_t bits = asuint64(x) & -1ull >> 1;
	uint64_t fraction = bits & ((1ull << 52) - 1);
	int biased = bits >> 52;
	if (biased == 0x7ff || bits == 0)
		return 0;
	if (biased > 0)
		return fraction == 0 ? biased - 0x3ff : 0;
	return fraction & (fraction - 1) ? 0 : __builtin_ctzll(fraction) - 1074;
}

/* y * k for an integer k (|k| < 2^11) when it is an integer n, exactly: y = m 2^e with m < 2^53, so
 * m |k| < 2^64 is exact in integers; *yint: 0 if y is not an integer, 1 if odd, 2 if even */
static int integer_product(double y, int k, int64_t *n, int *yint)
{
	uint64_t bits = asuint64(y);
	int biased = bits >> 52 & 0x7ff;
	int e = biased - 1075;
	uint64_t m = (bits & ((1ull << 52) - 1)) | 1ull << 52;
	if (biased == 0 || biased == 0x7ff || e >= 0)
		return 0;       /* 0, subnormal, inf, NaN, or |y| >= 2^52: far out of range for any k != 0 */
	uint64_t p = m * (uint64_t)(k < 0 ? -k : k);
	if (-e >= 64 || p & ((1ull << -e) - 1))
		return 0;
	*yint = m & ((1ull << -e) - 1) ? 0 : m >> -e & 1 ? 1 : 2;
	*n = (int64_t)(p >> -e) * ((k < 0) != (bits >> 63) ? -1 : 1);
	return 1;
}

/* (±2^k)^y when it is ±2^n with min <= n <= max */
static int exact_power(double x, double y, int min, int max, double *r)
{
	int k = power_of_two(x), yint;
	int64_t n;
	if (k == 0 || !integer_product(y, k, &n, &yint) || n < min || n > max)
		return 0;
	if (signbit(x) && yint == 0)
		return 0;       /* a negative x to a power that is not an integer: INVALID, pow's own path */
	double magnitude = n >= -1022 ? asdouble((uint64_t)(n + 0x3ff) << 52) : asdouble(1ull << (n + 1074));
	*r = signbit(x) && yint == 1 ? -magnitude : magnitude;
	return 1;
}

hidden int __pow_exact(double x, double y, double *r)
{
	if (y == 1) {
		*r = x * 1.0;   /* a signaling NaN raises INVALID, as pow's other paths */
		return 1;
	}
	return exact_power(x, y, -1074, 1023, r);
}

hidden int __powf_exact(float x, float y, float *r)
{
	double exact;
	if (y == 1) {
		*r = x * 1.0f;
		return 1;
	}
	if (!exact_power(x, y, -149, 127, &exact))
		return 0;
	*r = exact;
	return 1;
}
