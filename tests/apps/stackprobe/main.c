/* Uses the main thread's stack without mapping memory (no module demand: main runs on the boot stack). Prints its
 * RLIMIT_STACK, runs a 64 KiB frame (which fits), then a 256 KiB one (Redis's LZF table, larger than the whole
 * stack): that one must end in a stack-overflow crash report. If it returned instead, the 256 KiB .bss canary
 * (not more: a position-independent image on Xen has about 2 MiB beyond its file) tells whether its stores landed
 * there. Prints "stack: ..." lines; exit status 0 when every check
 * held. */
#include <stdio.h>
#include <sys/resource.h>

#define KIB 1024UL

/* Zero until something writes over it: the frame below writes a non-zero byte in each of its pages. */
static volatile unsigned char canary[256 * KIB];

/* A frame of `size` bytes (a VLA: one function for both sizes) whose lowest bytes are written first and read back,
 * as a hash table's first entries may be: on a stack too small for it, that store is the frame's farthest. */
static int frame_of(size_t size)
{
	volatile unsigned char frame[size];
	for (size_t i = 0; i < 64; i++)
		frame[i] = (unsigned char)(i | 1);
	frame[size - 1] = 1;
	int same = frame[size - 1] == 1;
	for (size_t i = 0; i < 64; i++)
		same &= frame[i] == (unsigned char)(i | 1);
	return same;
}

static int canary_intact(void)
{
	for (size_t i = 0; i < sizeof canary; i++)
		if (canary[i])
			return 0;
	return 1;
}

int main(void)
{
	struct rlimit stack;
	getrlimit(RLIMIT_STACK, &stack);
	printf("stack: RLIMIT_STACK %lu KiB\n", (unsigned long)(stack.rlim_cur / KIB));
	int small = frame_of(64 * KIB);
	printf("stack: a 64 KiB frame %s\n", small ? "ran" : "failed");
	fflush(stdout);
	int big = frame_of(256 * KIB);
	int intact = canary_intact();
	printf("stack: a 256 KiB frame %s, the .bss canary %s\n", big ? "ran" : "failed", intact ? "intact" : "CHANGED");
	return !small || !big || !intact;
}
