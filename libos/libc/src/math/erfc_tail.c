/* exp(r - 0.5625 - x^2) / x, the form of erfc(x) for 1.25 <= x < 28 (musl's erfc2, r its rational fit): musl
 * takes it as the product of two exp() and a quotient, four roundings that add up to 2.6 ulp (erfc(1.366)). Here
 * the argument is one pair of doubles and the quotient is corrected by its remainder, so that only the error of r,
 * exp's and the last rounding are left: at most 1.8 ulp on a random sample (musl.SOURCE_FIXES calls it). */
#include "libm.h"
#include "double_double.h"

hidden double __erfc_tail(double x, double r)
{
	dd x2 = dd_mul(x, x);
	dd a = dd_sum(-x2.hi, -0.5625);
	dd b = dd_sum(a.hi, r);
	double lo = (b.lo + a.lo) - x2.lo;      /* exp(b.hi + lo) = e (1 + lo) */
	double e = exp(b.hi);
	/* Scaled up by 2^200 below 2^-800 (x > 23.9), so that the corrections stay normal numbers (a subnormal one
	 * would raise UNDERFLOW beside a normal result); scaled back at the end, exactly unless the result is
	 * subnormal. A tiny lo is nothing (2^-17 ulp), and q * lo could be subnormal. */
	double scale = e < 0x1p-800 ? 0x1p-200 : 1;
	e /= scale;
	if (fabs(lo) < 0x1p-70)
		lo = 0;
	double q = e / x;
	dd qx = dd_mul(q, x);
	return (q + (((e - qx.hi) - qx.lo) / x + q * lo)) * scale;
}
