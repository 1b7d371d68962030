/* The EFI stub's entry and exit, in ARM state. The firmware calls the PE image's entry point as a C function
 * (UEFI 2.10, 2.3.5: AArch32 platforms): r0 = the image handle, r1 = the system table, lr = where to return; in
 * SVC mode, MMU and caches on, identity mapped. stub.c does the work while boot services are up; stub_leave then
 * hands the CPU to the zImage as Linux's ARM boot protocol asks (Documentation/arch/arm/booting.rst): MMU and data
 * cache off, with what was written for the kernel (the device tree and the zImage) cleaned to the point of
 * coherency first, interrupts masked, r0 = 0, r1 = ~0 (no machine type: a device tree), r2 = the DTB. */

#define SCTLR_M (1 << 0)
#define SCTLR_C (1 << 2)
#define SCTLR_I (1 << 12)

	.syntax unified
	.arm
	.section .text.stub_entry, "ax", %progbits
	.globl stub_entry
stub_entry:
	b 1f
	/* struct stub_params (stub.c), at offset 4: written by efistub.py (PARAMS_OFFSET). */
	.globl stub_params
stub_params:
	.word 0, 0, 0, 0, 0

1:	push {r4, lr}
	adr r2, stub_entry
	adr r3, stub_params
	bl stub_main
	pop {r4, pc}                    /* an EFI_STATUS to the firmware: the boot manager tries the next option */

	/* stub_leave(entry, dtb, clean_start, clean_end): does not return. */
	.globl stub_leave
	.type stub_leave, %function
stub_leave:
	cpsid aif
	mov r4, r0
	mov r5, r1
	/* Clean and invalidate the data cache by address to the point of coherency (DCCIMVAC), from clean_start to
	 * clean_end, in lines of the smallest size any data cache has (CTR.DminLine, words as a power of two). */
	mrc p15, 0, r6, c0, c0, 1       /* CTR */
	ubfx r6, r6, #16, #4
	mov r7, #4
	lsl r6, r7, r6                  /* line bytes */
	sub r7, r6, #1
	bic r2, r2, r7
2:	mcr p15, 0, r2, c7, c14, 1      /* DCCIMVAC */
	add r2, r2, r6
	cmp r2, r3
	blo 2b
	dsb
	/* MMU, data and instruction caches off; then nothing stale in the instruction cache or branch predictor. */
	mrc p15, 0, r0, c1, c0, 0
	bic r0, r0, #(SCTLR_M | SCTLR_C)
	bic r0, r0, #SCTLR_I
	mcr p15, 0, r0, c1, c0, 0
	isb
	mov r0, #0
	mcr p15, 0, r0, c7, c5, 0       /* ICIALLU */
	mcr p15, 0, r0, c7, c5, 6       /* BPIALL */
	mcr p15, 0, r0, c8, c7, 0       /* TLBIALL: the kernel's own tables come later */
	dsb
	isb
	mov r0, #0
	mvn r1, #0
	mov r2, r5
	bx r4
