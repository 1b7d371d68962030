/* ARMv7 entry, at the image's first byte. The image is both an ELF (QEMU -kernel image.elf loads the segments and
 * jumps here with r2 = 0) and a Linux zImage (Documentation/arch/arm/booting.rst: a loader copies the raw bytes
 * anywhere in RAM and jumps to the first one with r0 = 0, r1 = machine type, r2 = DTB address, MMU and data cache
 * off, in SVC or HYP mode). Here: SVC mode with IRQ/FIQ/asynchronous aborts masked, the image moved to the
 * address it is linked at if the loader put it elsewhere (QEMU loads a zImage at RAM + 0x10000), VFP/NEON on, the
 * MMU and caches on with a flat map (mmu_armv7.c replaces it), .bss zeroed, the boot stack; then uf_boot_main(r2). */

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
#define STACK_GUARD (1024 * 1024)       /* UF_BOOT_STACK_GUARD */
#define SCTLR_Z   (1 << 11)
#define SCTLR_I   (1 << 12)
#define SCTLR_TRE (1 << 28)
#define SCTLR_AFE (1 << 29)
#define ACTLR_SMP (1 << 6)
#define RAM_START 0x40000000            /* QEMU virt's */
/* Early level-1 section descriptors (mmu_armv7.c has the bits): Device, read-write, execute-never; Normal
 * write-back write-allocate shareable, read-write-execute. Privileged access only. */
#define EARLY_DEVICE 0x00416
#define EARLY_NORMAL 0x1140e
#define TTBR_WALK ((1 << 6) | (1 << 3) | (1 << 1))

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
	/* "Load anywhere" (start 0, so end is the size), also when linked at a fixed address: the entry moves the
	 * image where it is linked (.Lreloc). Xen's toolstack loads a zImage at RAM + 32 KiB whatever the header
	 * says, and would enter it at a nonzero start, which is then not where the bytes are. */
	.word 0
	.word __uf_file_size
	.word 0x04030201                /* little-endian */

1:	mrrc p15, 1, r11, r12, c14      /* CNTVCT, the boot's first timestamp (uniforge bench): kept in r11:r12 */
	mov r4, r2                      /* the DTB, if the loader passed one: kept in r4 until uf_boot_main */

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

#ifdef __PIC__
	/* Position independent (built -fPIC, linked -pie): run where the loader put us, after adding how far that is
	 * from the link address to every absolute address the linker recorded (R_ARM_RELATIVE entries, 8 bytes:
	 * where, type; .rel.dyn, in the image). Xen places a dom0 so, in RAM that lies anywhere. The literal
	 * pools' link-time values give the link addresses until then. r10 keeps the distance for uf_boot_load_offset. */
	adr r0, uf_zimage_start
	ldr r1, =uf_zimage_start
	subs r10, r0, r1
	beq 4f
	lsls r5, r10, #20               /* page tables, guard pages, Xen's pages: a distance in whole pages only */
	bne .Lbad_relocation
	ldr r5, =__uf_rel_start
	ldr r6, =__uf_rel_end
	add r5, r5, r10
	add r6, r6, r10
3:	cmp r5, r6
	bhs 5f
	ldmia r5!, {r7, r8}             /* r_offset, r_info */
	and r8, r8, #0xff
	cmp r8, #23                     /* R_ARM_RELATIVE: nothing else occurs in a static PIE */
	bne .Lbad_relocation
	ldr r9, [r7, r10]!
	add r9, r9, r10
	str r9, [r7]
	b 3b
5:	mov r6, #0
	mcr p15, 0, r6, c7, c5, 0       /* ICIALLU: literal pools changed under the instruction cache */
	mcr p15, 0, r6, c7, c5, 6       /* BPIALL */
	dsb
	isb
	b 4f
.Lbad_relocation:
	udf #1
#else
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
#endif

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

	/* MMU and caches on now, with a flat map: every MiB from the first (which stays unmapped) up to RAM_START as
	 * Device, and from there to 4 GiB as Normal memory, all identity mapped (mmu_armv7.c replaces it with the real
	 * tables once the device tree has said where RAM is). Everything after runs with the caches on, and in one
	 * translation regime: under an emulator, code run both with the MMU off (where accesses are alignment
	 * checked) and on is translated twice.
	 * Cortex-A15 and -A7 want ACTLR.SMP set before their caches and MMU go on, even alone (their TRMs). Firmware
	 * usually has; where the non-secure world may not change it, the write is ignored. */
	mrc p15, 0, r0, c0, c0, 0       /* MIDR: the part number */
	ubfx r0, r0, #4, #12
	movw r1, #0xc0f
	cmp r0, r1
	movwne r1, #0xc07
	cmpne r0, r1
	bne 6f
	mrc p15, 0, r0, c1, c0, 1
	tst r0, #ACTLR_SMP
	orreq r0, r0, #ACTLR_SMP
	mcreq p15, 0, r0, c1, c0, 1
6:	/* Invalidate the level-1 data cache by set/way (B4.2.1): its contents are unknown at reset on some cores,
	 * and a stale line would hide what was written with the cache off. Outer levels are the loader's (as for
	 * Linux). */
	mov r0, #0
	mcr p15, 2, r0, c0, c0, 0       /* CSSELR: level 1, data */
	isb
	mrc p15, 1, r0, c0, c0, 0       /* CCSIDR */
	and r1, r0, #7
	add r1, r1, #4                  /* log2(line bytes) */
	ubfx r2, r0, #3, #10            /* ways - 1 */
	ubfx r3, r0, #13, #15           /* sets - 1 */
	clz r5, r2                      /* the way's shift (32 with one way: lsl by 32 gives 0) */
8:	mov r6, r3
9:	lsl r7, r2, r5
	orr r7, r7, r6, lsl r1
	mcr p15, 0, r7, c7, c6, 2       /* DCISW */
	subs r6, r6, #1
	bpl 9b
	subs r2, r2, #1
	bpl 8b
	dsb
	/* The flat level-1 table. */
	ldr r8, =early_l1_room + 16383
	bfc r8, #0, #14                 /* aligned to 16 KiB */
	mov r0, r8
	mov r1, #0
	str r1, [r0], #4
	mov r2, #(1 << 20)
	movw r3, #EARLY_DEVICE
10:	orr r1, r2, r3
	str r1, [r0], #4
	add r2, r2, #(1 << 20)
	cmp r2, #RAM_START
	blo 10b
	movw r3, #(EARLY_NORMAL & 0xffff)
	movt r3, #(EARLY_NORMAL >> 16)
11:	orr r1, r2, r3
	str r1, [r0], #4
	adds r2, r2, #(1 << 20)
	bcc 11b
	mov r0, #0
	mcr p15, 0, r0, c2, c0, 2       /* TTBCR: TTBR0 for all 4 GiB, short descriptors */
	orr r0, r8, #TTBR_WALK
	mcr p15, 0, r0, c2, c0, 0       /* TTBR0 */
	mov r0, #1
	mcr p15, 0, r0, c3, c0, 0       /* DACR: domain 0 client */
	mov r0, #0
	mcr p15, 0, r0, c7, c5, 0       /* ICIALLU */
	dsb
	mcr p15, 0, r0, c8, c7, 0       /* TLBIALL */
	mcr p15, 0, r0, c7, c5, 6       /* BPIALL */
	dsb
	isb
	mrc p15, 0, r0, c1, c0, 0
	bic r0, r0, #SCTLR_A
	bic r0, r0, #(SCTLR_TRE | SCTLR_AFE)
	orr r0, r0, #(SCTLR_M | SCTLR_C)
	orr r0, r0, #(SCTLR_Z | SCTLR_I)
	mcr p15, 0, r0, c1, c0, 0
	isb

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

#ifdef __PIC__
	ldr r0, =uf_boot_load_offset
	str r10, [r0]
#endif
	ldr r0, =uf_boot_entry_ticks
	str r11, [r0]
	str r12, [r0, #4]
	ldr sp, =boot_stack_top
	mov r11, #0                     /* ends the frame-pointer chain for backtraces */
	mov lr, #0
	mov r0, r4
	bl uf_boot_main
	udf #0                          /* uf_boot_main does not return */
	.ltorg
	.size uf_zimage_start, . - uf_zimage_start

	.section .data.uf_boot_entry_ticks, "aw", %progbits
	.balign 8
	.globl uf_boot_entry_ticks
uf_boot_entry_ticks:
	.quad 0

	/* The boot (main) stack: no file bytes, not zeroed. The guard below it is not present (mmu_armv7.c). */
	.section .uf_stack, "aw", %nobits
	.balign 4096
	.globl uf_boot_stack_guard
uf_boot_stack_guard:
	.skip STACK_GUARD
	.skip STACK_SIZE
boot_stack_top:
	/* Room for the early level-1 table (16 KiB, aligned to its size: placed at the first such address in here),
	 * in use until mmu_armv7.c's tables replace it. Aligned only to a page here: a larger alignment would pad
	 * the ELF file. */
	.balign 4096
early_l1_room:
	.skip 16384 + 16384 - 4096
