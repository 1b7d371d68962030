/* asinh(x) within 1.2 ulp (musl's is up to 1.6 ulp in [0.125, 2), where its one rounding of
 * |x| + x^2 / (sqrt(x^2 + 1) + 1) is magnified by log1p). Below 2 that argument u is carried as a pair of
 * doubles, and log1p(u.hi + u.lo) = log1p(u.hi) + u.lo / (1 + u.hi) to far below an ulp. */
#include <math.h>
#include "libm.h"
#include "double_double.h"

#define LN2 0x1.62e42fefa39efp-1

double asinh(double x)
{
	double a = fabs(x), y;

	if (isnan(x))
		return x + x;
	if (a < 0x1p-26) {
		/* asinh(x) = x - x^3/6 + ...: x itself, inexact unless 0 */
		if (x != 0)
			FORCE_EVAL(x + 0x1p120f);
		return x;
	}
	if (a < 2) {
		/* u = a + a^2 / (sqrt(a^2 + 1) + 1), so that asinh(a) = log1p(u) */
		dd a2 = dd_mul(a, a);
		dd r = dd_sum(a2.hi, 1);
		r = dd_sqrt(dd_quick_sum(r.hi, r.lo + a2.lo));
		dd d = dd_quick_sum(r.hi, 1);
		d = dd_quick_sum(d.hi, d.lo + r.lo);
		/* v = a^2 / d: the quotient of the high parts, then its remainder */
		double vh = a2.hi / d.hi;
		dd back = dd_mul(vh, d.hi);
		double vl = ((a2.hi - back.hi) - back.lo + a2.lo - vh * d.lo) / d.hi;
		dd u = dd_sum(a, vh);
		u = dd_quick_sum(u.hi, u.lo + vl);
		y = log1p(u.hi) + u.lo / (1 + u.hi);
	} else if (a < 0x1p26) {
		y = log(2 * a + 1 / (sqrt(a * a + 1) + a));
	} else {
		y = log(a) + LN2;
	}
	return signbit(x) ? -y : y;
}
