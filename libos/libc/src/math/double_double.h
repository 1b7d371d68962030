/* Sums and products of doubles kept exactly as an unevaluated pair hi + lo (|lo| <= half an ulp of hi): the
 * extra bits that functions close to a cancellation need, from plain IEEE double operations (correct in any
 * rounding mode for the sums; the products assume no overflow, which their callers' ranges rule out). */
#ifndef UF_DOUBLE_DOUBLE_H
#define UF_DOUBLE_DOUBLE_H

#include <math.h>

typedef struct { double hi, lo; } dd;

/* a + b exactly (Knuth's two-sum: no assumption on magnitudes) */
static inline dd dd_sum(double a, double b)
{
	double s = a + b;
	double bb = s - a;
	return (dd){s, (a - (s - bb)) + (b - bb)};
}

/* a + b exactly, when |a| >= |b| or a == 0 */
static inline dd dd_quick_sum(double a, double b)
{
	double s = a + b;
	return (dd){s, b - (s - a)};
}

/* a split into two halves of 26 bits each, whose products are exact (Veltkamp) */
static inline void dd_split(double a, double *hi, double *lo)
{
	double c = 0x1p27 * a + a;
	*hi = c - (c - a);
	*lo = a - *hi;
}

/* a * b exactly (Dekker) */
static inline dd dd_mul(double a, double b)
{
	double ah, al, bh, bl, p = a * b;
	dd_split(a, &ah, &al);
	dd_split(b, &bh, &bl);
	return (dd){p, ((ah * bh - p) + ah * bl + al * bh) + al * bl};
}

/* sqrt(a.hi + a.lo) as a pair, to about 2^-104 relative: one Newton step on the rounded root (a.hi > 0) */
static inline dd dd_sqrt(dd a)
{
	double r = sqrt(a.hi);
	dd sq = dd_mul(r, r);
	return dd_quick_sum(r, ((a.hi - sq.hi) - sq.lo + a.lo) / (2 * r));
}

#endif
