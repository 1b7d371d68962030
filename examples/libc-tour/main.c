/* A tour of the libc: every line it prints is checked by tests/integration/test_boot.py. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int by_value(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static jmp_buf back;

static void jump(int value)
{
	longjmp(back, value);
}

int main(void)
{
	/* malloc: many sizes, all written and freed, then one large block. */
	unsigned long sum = 0;
	for (int i = 1; i <= 1000; i++) {
		unsigned char *p = malloc(i * 17);
		assert(p);
		memset(p, i & 0xff, i * 17);
		sum += p[i * 17 - 1];
		free(p);
	}
	char *big = malloc(8 << 20);
	assert(big);
	big[(8 << 20) - 1] = 42;
	printf("malloc: sum=%lu big=%d\n", sum, big[(8 << 20) - 1]);
	free(big);

	int numbers[] = { 42, -7, 19, 0, 1000, 3, -7, 88 };
	qsort(numbers, 8, sizeof numbers[0], by_value);
	printf("qsort:");
	for (int i = 0; i < 8; i++)
		printf(" %d", numbers[i]);
	printf("\n");

	char text[64];
	snprintf(text, sizeof text, "%5.2f|%-6s|%08x|%e", 3.14159, "ab", 0xbeef, 12345.678);
	printf("snprintf: %s\n", text);
	printf("math: sqrt(2)=%.6f sin(1)=%.6f exp(1)=%.6f pow(2,10)=%.0f\n", sqrt(2.0), sin(1.0), exp(1.0), pow(2, 10));
	printf("strtod: %.3f strtol: %ld\n", strtod("2.5e3", NULL), strtol("-0x1f", NULL, 16));

	char upper[16] = "uniforge";
	for (char *c = upper; *c; c++)
		*c = toupper((unsigned char)*c);
	printf("ctype: %s\n", upper);

	errno = 0;
	strtol("99999999999999999999", NULL, 10);
	printf("errno: %s\n", errno == ERANGE ? "ERANGE" : "wrong");

	int value = setjmp(back);
	if (!value)
		jump(7);
	printf("setjmp: %d\n", value);

	struct timespec t0, t1, pause = { 0, 20 * 1000 * 1000 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	nanosleep(&pause, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	printf("time: slept %s\n", ms >= 20 && ms < 1000 ? "20ms ok" : "wrong");
	time_t now = time(NULL);
	printf("time: year %s\n", gmtime(&now)->tm_year + 1900 >= 2024 ? "ok" : "wrong");
	return 0;
}
