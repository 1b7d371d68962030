/* Exit on ARMv7: ARM semihosting SYS_EXIT_EXTENDED, which QEMU (-semihosting) ends with the status, whole; a
 * crash first writes one byte to the semihosting console (a channel of the runner's apart from the serial console),
 * and exits with 127. Without semihosting the svc traps and returns -1 (trap_armv7.c), and PSCI SYSTEM_OFF stops the
 * machine (the status is lost) through the conduit the device tree's /psci node names; else halt. */
#include <string.h>
#include <uf/exit.h>
#include <uf/fdt.h>

/* Run once (or on a crash): under an emulator that translates each instruction before its first run, small code is
 * fast code. */
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

#define SYS_WRITEC 0x03
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define PSCI_SYSTEM_OFF 0x84000008      /* PSCI 0.2 and later */

/* ARM state: "svc 0x123456", op in r0, its parameter block in r1 (the semihosting specification). The exception
 * it raises without semihosting overwrites lr when we run in SVC mode: lr is clobbered. */
static long semihosting(long op, const void *arg)
{
	register long r0 __asm__("r0") = op;
	register const void *r1 __asm__("r1") = arg;
	__asm__ volatile("svc 0x123456" : "+r"(r0) : "r"(r1) : "memory", "lr");
	return r0;
}

/* SMC calling convention (32-bit): function ID in r0; r0-r3 may come back changed. */
static void psci(unsigned long fn, int hvc)
{
	register unsigned long r0 __asm__("r0") = fn;
	if (hvc)
		__asm__ volatile("hvc #0" : "+r"(r0) : : "r1", "r2", "r3", "r12", "memory");
	else
		__asm__ volatile(".arch_extension sec\n\tsmc #0" : "+r"(r0) : : "r1", "r2", "r3", "r12", "memory");
}

void uf_exit_want_input(void)
{
	semihosting(SYS_WRITEC, "\xff");
	semihosting(SYS_WRITEC, "\x01");
}

_Noreturn void uf_exit(int status)
{
	static int exiting;
	const unsigned long code = status == UF_EXIT_CRASH ? 127 : (unsigned long)status;
	const unsigned long block[2] = { ADP_STOPPED_APPLICATION_EXIT, code };
	if (!exiting++) {       /* once: a conduit that traps (no EL2/EL3 to answer) comes back here via a crash */
		if (status == UF_EXIT_CRASH)
			semihosting(SYS_WRITEC, "!");
		semihosting(SYS_EXIT_EXTENDED, block);
		int node = uf_fdt_path("/psci");
		const char *method = uf_fdt_getstring(node, "method");
		if (method && (uf_fdt_is_compatible(node, "arm,psci-0.2") || uf_fdt_is_compatible(node, "arm,psci-1.0")))
			if (!strcmp(method, "hvc") || !strcmp(method, "smc"))
				psci(PSCI_SYSTEM_OFF, method[0] == 'h');
	}
	for (;;)
		__asm__ volatile("cpsid if\n\twfi" ::: "memory");
}

#pragma clang attribute pop
