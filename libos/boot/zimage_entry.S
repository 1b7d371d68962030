/* ARMv7 entry, at the image's first byte. The image is both an ELF (QEMU -kernel image.elf loads the segments and
 * jumps here with r2 = 0) and a Linux zImage (Documentation/arch/arm/booting.rst: a loader copies the raw bytes
 * anywhere in RAM and jumps to the first one with r0 = 0, r1 = machine type, r2 = DTB address, MMU and data cache
 * off, in SVC or HYP mode). Here: SVC mode with IRQ/FIQ/asynchronous aborts masked, the image moved to the
 * address it is linked at if the loader put it elsewhere (QEMU loads a zImage at RAM + 0x10000), VFP/NEON on,
 * .bss zeroed, the boot stack; then uf_boot_main(r2). */

#define MODE_MASK 0x1f
#define MODE_SVC  0x13
#define MODE_HYP  0x1a
#define PSR_F     (1 << 6)
#define PSR_I     (1 << 7)
#define PSR_A     (1 << 8)
#define SCTLR_M   (1 << 0)
#define SCTLR_A   (1 << 1)
#define SCTLR_C   (1 << 2)
#define SCTLR_V   (1 << 13)
#define SCTLR_TE  (1 << 30)
#define CPACR_CP10_CP11 (0xf << 20)     /* full access to the VFP/NEON coprocessors */
#define FPEXC_EN  (1 << 30)
#define STACK_SIZE (128 * 1024)         /* UF_BOOT_STACK_SIZE */

	.syntax unified
	.arm
	.section .text.uf_zimage_head, "ax", %progbits
	.globl uf_zimage_start
	.type uf_zimage_start, %function
uf_zimage_start:
	b 1f
	/* The zImage header (what boot loaders check: the magic at 0x24, then where the bytes go and end). */
	.org 0x24
	.word 0x016f2818                /* zImage magic */
	.word uf_zimage_start           /* load/run address: where it is linked */
	.word __uf_file_end             /* end of the bytes to load */
	.word 0x04030201                /* little-endian */

1:	mov r4, r2                      /* the DTB, if the loader passed one: kept in r4 until uf_boot_main */

	/* HYP (a loader that starts kernels there for KVM): drop to SVC through an exception return. */
	mrs r0, cpsr
	and r0, r0, #MODE_MASK
	cmp r0, #MODE_HYP
	bne 2f
	adr r0, 2f
	msr elr_hyp, r0
	mov r0, #(MODE_SVC | PSR_A | PSR_I | PSR_F)
	msr spsr_hyp, r0
	eret
2:	cpsid aif, #MODE_SVC

	/* Run where we are linked: a loader may have put the bytes elsewhere. Position-independent until the jump.
	 * The copy loop must not overwrite itself: if the two places overlap, the bytes go first to just above both
	 * (assumed RAM), and this runs again from there. */
.Lreloc:
	adr r0, uf_zimage_start         /* where we are */
	ldr r1, =uf_zimage_start        /* where we are linked */
	subs r2, r1, r0
	beq 4f
	rsblo r2, r2, #0                /* how far apart */
	ldr r3, =__uf_file_end
	sub r3, r3, r1                  /* bytes to move: a multiple of 8 (the linker script aligns the end) */
	mov r5, r1
	cmp r2, r3
	bhs 3f
	cmp r0, r1
	movhi r5, r0
	add r5, r5, r3                  /* overlap: the hop, above both */
3:	mov r6, r0
	mov r7, r5
	mov r8, r3
5:	ldmia r6!, {r9, r10}
	stmia r7!, {r9, r10}
	subs r8, r8, #8
	bne 5b
	mov r6, #0
	mcr p15, 0, r6, c7, c5, 0       /* ICIALLU: the instruction cache may be on and hold the old bytes */
	mcr p15, 0, r6, c7, c5, 6       /* BPIALL */
	dsb
	isb
	cmp r5, r1
	ldreq pc, =4f                   /* at the link address: go on there */
	adr r6, .Lreloc                 /* at the hop: move again from there */
	sub r6, r6, r0
	add r6, r6, r5
	bx r6

	/* MMU, data cache and alignment checks off (the protocol says so: make sure); vectors from VBAR, in ARM. */
4:	mrc p15, 0, r0, c1, c0, 0
	bic r0, r0, #(SCTLR_M | SCTLR_A | SCTLR_C)
	bic r0, r0, #SCTLR_V
	bic r0, r0, #SCTLR_TE
	mcr p15, 0, r0, c1, c0, 0
	isb

	/* VFP and NEON before any C: the compiler uses them in any function (and the library OS is built with them). */
	mrc p15, 0, r0, c1, c0, 2
	orr r0, r0, #CPACR_CP10_CP11
	mcr p15, 0, r0, c1, c0, 2
	isb
	mov r0, #FPEXC_EN
	vmsr fpexc, r0
	mov r0, #0
	vmsr fpscr, r0                  /* round to nearest, no traps: what C expects (its reset value is unknown) */

	/* Zero .bss (32-byte aligned at both ends, from the linker script). .uf_stack is not: nothing reads it first. */
	ldr r0, =__uf_bss_start
	ldr r1, =__uf_bss_end
	mov r2, #0
	mov r3, #0
	mov r5, #0
	mov r6, #0
7:	cmp r0, r1
	stmialo r0!, {r2, r3, r5, r6}
	stmialo r0!, {r2, r3, r5, r6}
	blo 7b

	ldr sp, =boot_stack_top
	mov r11, #0                     /* ends the frame-pointer chain for backtraces */
	mov lr, #0
	mov r0, r4
	bl uf_boot_main
	udf #0                          /* uf_boot_main does not return */
	.ltorg
	.size uf_zimage_start, . - uf_zimage_start

	/* The boot (main) stack: no file bytes, not zeroed. The guard page below it is not present (mmu_armv7.c). */
	.section .uf_stack, "aw", %nobits
	.balign 4096
	.globl uf_boot_stack_guard
uf_boot_stack_guard:
	.skip 4096
	.skip STACK_SIZE
boot_stack_top:
