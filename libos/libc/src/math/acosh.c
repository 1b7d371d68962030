/* acosh(x) within 1.2 ulp (musl's is up to 2 ulp above 1, where its one rounding of x - 1 + sqrt((x-1)^2 +
 * 2(x-1)) is magnified by log1p). Below 2 that argument u is carried as a pair of doubles, and
 * log1p(u.hi + u.lo) = log1p(u.hi) + u.lo / (1 + u.hi) to far below an ulp. */
#include <math.h>
#include "double_double.h"

#define LN2 0x1.62e42fefa39efp-1

double acosh(double x)
{
	if (isnan(x))
		return x + x;
	if (x < 1)
		return (x - x) / (x - x);      /* NaN and INVALID (-inf too) */
	if (x < 2) {
		double t = x - 1;              /* exact */
		if (t == 0)
			return 0;
		/* sqrt(t^2 + 2t): 2t >= t^2 here */
		dd t2 = dd_mul(t, t);
		dd w = dd_sum(2 * t, t2.hi);
		w = dd_quick_sum(w.hi, w.lo + t2.lo);
		dd s = dd_sqrt(w);
		dd u = dd_sum(t, s.hi);
		u = dd_quick_sum(u.hi, u.lo + s.lo);
		return log1p(u.hi) + u.lo / (1 + u.hi);
	}
	if (x < 0x1p26)
		return log(2 * x - 1 / (x + sqrt(x * x - 1)));
	/* sqrt(x^2 - 1) is x to within 2^-53 relative: acosh(x) = log(2x) */
	return log(x) + LN2;
}
