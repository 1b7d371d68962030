/* Compiled as for Linux with musl: what a portable program tests for is there (checked at compile time), and
 * `smash` overflows a stack buffer, which the stack protector turns into a crash. */
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
	if (argc > 1 && !strcmp(argv[1], "smash"))
		return smash(64);
	return 0;
}
