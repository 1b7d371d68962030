/* Compiled as for Linux with musl: what a portable program tests for is there (checked at compile time),
 * conversions to 64-bit integers and the libm raise what C's Annex F says, some libm values the test compares
 * with the true ones, and `smash` overflows a stack buffer, which the stack protector turns into a crash. */
#include <fenv.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <linux/limits.h>       /* Linux UAPI headers, where musl has none */
#include <linux/types.h>
#include <asm/byteorder.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if !defined(__linux__) || !defined(__unix__) || !defined(__gnu_linux__) || !__STDC_HOSTED__
#error "not compiled as a hosted Linux program"
#endif
#if !defined(PATH_MAX) || !defined(NAME_MAX) || !defined(IOV_MAX)
#error "musl's <limits.h> is not the one included"
#endif
#ifdef RSIZE_MAX
#error "the compiler's freestanding <stdint.h> came before musl's"
#endif

int old_style(int);             /* oldstyle.c: a K&R definition calling a function it never declared */

int twice(int x)
{
	return 2 * x;
}

/* A local array makes the function protected; the index comes from outside so nothing is folded. */
static int smash(volatile int count)
{
	char buf[16];
	memset(buf, 'x', (size_t)count);
	return buf[3];
}

/* What a case raised: " NAME INVALID DIVBYZERO", or " NAME none". */
static void say(const char *name, int e)
{
	printf(" %s%s%s%s%s%s%s", name, e & FE_INVALID ? " INVALID" : "", e & FE_DIVBYZERO ? " DIVBYZERO" : "",
	       e & FE_OVERFLOW ? " OVERFLOW" : "", e & FE_UNDERFLOW ? " UNDERFLOW" : "", e & FE_INEXACT ? " INEXACT" : "",
	       e ? "" : " none");
}

/* The exceptions expr raises; its value is kept (an unused result of a libm call is no call at all). */
static volatile unsigned long long kept;
#define RAISES(expr) (feclearexcept(FE_ALL_EXCEPT), kept = (expr), fetestexcept(FE_ALL_EXCEPT))

/* Conversions to a 64-bit integer, which ARMv7's VFP leaves to the compiler's runtime: INVALID out of range (C's
 * Annex F; musl's llrint and llround rely on it), exact values in range. The inputs are volatile so that nothing is
 * folded. */
static void to_int64(void)
{
	volatile double nan = NAN, inf = INFINITY, big = 1e19;
	printf("fenv:");
	say("llrint(nan)", RAISES(llrint(nan)));
	say("llround(-inf)", RAISES(llround(-inf)));
	say("(long long)1e19", RAISES((long long)big));
	say("(unsigned long long)1e20", RAISES((unsigned long long)(big * 10)));
	volatile double min = -0x1p63, umax = 0x1.fffffffffffffp63, frac = -1234567890123.75;
	volatile float f = 0x1.fffffep62f;
	printf("\nint64: %lld %llu %lld %lld\n", (long long)min, (unsigned long long)umax, (long long)frac,
	       (long long)f);
}

/* The libm is built with strict floating point (on ARMv7 too): it raises what it should and nothing more, and an
 * exact zero keeps its sign when rounding downward (clang's strict int-to-double on ARM turned 0 into -0.0). */
static void libm_strict(void)
{
	volatile double zero = 0.0, minus_one = -1.0, x = -8.4, y = -2.7, half = 0.5, one = 1.0;
	volatile float halff = 0.5f;
	/* Called through pointers the compiler cannot see through: it may move a call to a function it knows to have
	 * no side effects across the calls to <fenv.h>. */
	int (*volatile ilogb_at)(double) = ilogb;
	double (*volatile log1p_at)(double) = log1p, (*volatile fdim_at)(double, double) = fdim;
	double (*volatile floor_at)(double) = floor, (*volatile log_at)(double) = log;
	float (*volatile floorf_at)(float) = floorf;
	printf("libm:");
	say("ilogb(0)", RAISES(ilogb_at(zero)));
	say("log1p(-1)", RAISES(log1p_at(minus_one) < 0));
	say("fdim(-8.4,-2.7)", RAISES(fdim_at(x, y) == 0));
	fesetround(FE_DOWNWARD);
	double f = floor_at(half), l = log_at(one);
	float ff = floorf_at(halff);
	fesetround(FE_TONEAREST);
	printf("\ndownward: floor(0.5)=%g floorf(0.5)=%g log(1)=%g\n", f, (double)ff, l);
}

/* Exact results raise nothing, in any rounding mode: powers of two from pow and exp2 below 2^-1022 (musl's raised
 * UNDERFLOW) and x^1 (musl's powf(FLT_MAX, 1) overflowed rounding upward), while inexact ones still underflow.
 * Then values where musl's acosh, asinh and erfc were 1.5 to 2.4 ulp off (the test knows the true values). */
static void libm_exact_and_close(void)
{
	volatile double two = 2.0, m1074 = -1074, m1074h = -1074.5, tiny = 0x1p-537, big = -0x1p350;
	volatile double e27 = 27, e20 = 20;
	volatile float fmax = FLT_MAX, onef = 1.0f;
	double (*volatile pow_at)(double, double) = pow, (*volatile exp2_at)(double) = exp2;
	double (*volatile erfc_at)(double) = erfc;
	float (*volatile powf_at)(float, float) = powf;
	printf("exact:");
	say("pow(2,-1074)", RAISES(pow_at(two, m1074) == 0x1p-1074));
	say("pow(0x1p-537,2)", RAISES(pow_at(tiny, two) == 0x1p-1074));
	say("pow(-0x1p350,-3)", RAISES(pow_at(big, -3.0) == -0x1p-1050));
	say("exp2(-1074)", RAISES(exp2_at(m1074) == 0x1p-1074));
	fesetround(FE_UPWARD);
	say("upward:powf(FLT_MAX,1)", RAISES(powf_at(fmax, onef) == FLT_MAX));
	fesetround(FE_TONEAREST);
	printf("\ninexact:");
	say("pow(2,-1074.5)", RAISES(pow_at(two, m1074h) > 0));
	say("exp2(-1074.5)", RAISES(exp2_at(m1074h) > 0));
	say("erfc(27)", RAISES(erfc_at(e27) > 0));
	say("erfc(20)", RAISES(erfc_at(e20) > 0));
	volatile double a = 0x1.001f2054ac4d3p+0, b = 0x1.fb5fb1a6a159p-3, c = 0x1.8cb1b1ccec9b7p+0;
	volatile double d = 0x1.2ee818640111fp+4;
	printf("\nclose: acosh %a asinh %a erfc %a erfc %a\n", acosh(a), asinh(b), erfc(c), erfc(d));
}

int main(int argc, char **argv)
{
	__u32 word = 1;
	printf("limits: PATH_MAX=%d NAME_MAX=%d IOV_MAX=%d\n", PATH_MAX, NAME_MAX, IOV_MAX);
	printf("old style: %d\n", old_style(21));
	printf("uapi: %u\n", (unsigned)word);
	/* libc-test's first remquol vector: x86_64's fprem1 version read quotient 0 under QEMU (musl.py EXCLUDED). */
	volatile long double x = -0x1.02239f3c6a8f13dep+3L, y = 0x1.22484b9ef31efd4p+2L;
	int quotient;
	remquol(x, y, &quotient);
	printf("remquol: %d\n", quotient);
	to_int64();
	libm_strict();
	libm_exact_and_close();
	if (argc > 1 && !strcmp(argv[1], "smash"))
		return smash(64);
	return 0;
}
