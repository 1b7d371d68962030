/* PVH entry (Xen's direct boot ABI, also used by QEMU -kernel): 32-bit protected mode, paging off, flat
 * segments, interrupts off, %ebx = physical address of struct hvm_start_info. We reach long mode on an early
 * identity map of the first 1 GiB (enough for the image, the loader's data and boot's page-table pages) and
 * call uf_boot_main(start_info); uf_mmu_init() replaces the early map with the final one. */

#define CR0_PE  (1 << 0)
#define CR0_MP  (1 << 1)
#define CR0_EM  (1 << 2)
#define CR0_TS  (1 << 3)
#define CR0_NE  (1 << 5)
#define CR0_WP  (1 << 16)
#define CR0_PG  (1 << 31)
#define CR4_PAE        (1 << 5)
#define CR4_OSFXSR     (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define PTE_P  0x1
#define PTE_W  0x2
#define PTE_PS 0x80
#define STACK_SIZE (128 * 1024)     /* UF_BOOT_STACK_SIZE */
#define STACK_GUARD 4096            /* UF_BOOT_STACK_GUARD */

/* The PVH note: the loader enters at the 32-bit physical address it holds. QEMU reads 8 bytes on ELF64. */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4                         /* namesz */
	.long 8                         /* descsz */
	.long 18                        /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.quad uf_pvh_start
	.balign 4

	.section .text.uf_pvh_start, "ax", @progbits
	.code32
	.globl uf_pvh_start
	.type uf_pvh_start, @function
uf_pvh_start:
	rdtsc                           /* the boot's first timestamp, for `uniforge bench` (uf.bench=1) */
	mov %eax, uf_boot_entry_ticks
	mov %edx, uf_boot_entry_ticks + 4
	cld
	mov %ebx, %esi                  /* start_info, kept in %esi until uf_boot_main */

	/* Zero .bss first: the early page tables live there. (.uf_stack is not zeroed: nothing reads it first.) */
	mov $__uf_bss_start, %edi
	mov $__uf_bss_end, %ecx
	sub %edi, %ecx
	shr $2, %ecx
	xor %eax, %eax
	rep stosl

	/* PML4[0] -> PDPT, PDPT[0] -> PD, PD = 512 2 MiB pages: identity map of [0, 1 GiB). */
	movl $early_pdpt + (PTE_P | PTE_W), early_pml4
	movl $early_pd + (PTE_P | PTE_W), early_pdpt
	mov $early_pd, %edi
	mov $(PTE_P | PTE_W | PTE_PS), %eax
	mov $512, %ecx
1:	mov %eax, (%edi)
	add $0x200000, %eax
	add $8, %edi
	dec %ecx
	jnz 1b

	lgdt gdt_pointer
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs                   /* FS base is set later through its MSR (TLS, module process) */
	mov %eax, %gs

	/* PAE paging; SSE enabled for the app and libc (CR4.OSFXSR/OSXMMEXCPT, CR0.MP/NE below). */
	mov %cr4, %eax
	or $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	mov %eax, %cr4
	mov $early_pml4, %eax
	mov %eax, %cr3

	/* EFER.LME, and EFER.NXE if the CPU has NX (setting it otherwise raises #GP). */
	mov $0x80000001, %eax
	cpuid
	mov $EFER_LME, %edi
	bt $20, %edx
	jnc 2f
	or $EFER_NXE, %edi
2:	mov $0xc0000080, %ecx
	rdmsr
	or %edi, %eax
	wrmsr

	mov %cr0, %eax
	and $~(CR0_EM | CR0_TS), %eax
	or $(CR0_PE | CR0_MP | CR0_NE | CR0_WP | CR0_PG), %eax
	mov %eax, %cr0
	ljmp $0x08, $long_mode

	.code64
long_mode:
	lea boot_stack_top(%rip), %rsp
	xor %ebp, %ebp                  /* ends the frame-pointer chain for backtraces */
	fninit
	mov %esi, %edi
	call uf_boot_main
	ud2                             /* uf_boot_main does not return */
	.size uf_pvh_start, . - uf_pvh_start

	/* In .data, not .bss: it is written before .bss is zeroed. */
	.section .data.uf_boot_entry_ticks, "aw", @progbits
	.balign 8
	.globl uf_boot_entry_ticks
uf_boot_entry_ticks:
	.quad 0

	.section .rodata.uf_boot_gdt_pointer, "a", @progbits
	.balign 8
gdt_pointer:
	.word gdt_end - uf_boot_gdt - 1
	.quad uf_boot_gdt

	/* Writable: the CPU sets the busy bit of the TSS descriptor on ltr. */
	.section .data.uf_boot_gdt, "aw", @progbits
	.balign 16
	.globl uf_boot_gdt
uf_boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff        /* 0x10: data */
	.quad 0, 0                      /* 0x18: 64-bit TSS (16 bytes), set by uf_x86_load_tss() */
gdt_end:

	.section .bss.uf_boot_early_map, "aw", @nobits
	.balign 4096
early_pml4:
	.skip 4096
early_pdpt:
	.skip 4096
early_pd:
	.skip 4096

	/* Stacks go to .uf_stack: no file bytes, not zeroed. The guard page stays unmapped (uf_mmu_init). */
	.section .uf_stack, "aw", @nobits
	.balign 4096
	.globl uf_boot_stack_guard
uf_boot_stack_guard:
	.skip STACK_GUARD
	.skip STACK_SIZE
boot_stack_top:
