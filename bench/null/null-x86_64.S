/*
 * The null kernel (the floor of `uniforge bench`): the smallest PVH guest, to measure what a boot costs before any Uniforge code runs.
 * PVH enters it in 32-bit protected mode with paging off and %esp undefined (so: no stack, no calls);
 * it leaves through isa-debug-exit at port 0xf4.
 *
 * Build-time variants (-D), used by the runner's tests and `uniforge doctor`:
 *   STATUS=n      exit status written to isa-debug-exit (default 0)
 *   HANG          never exit (timeout tests)
 *   ECHO_CMDLINE  print the PVH command line and a newline first (checks the runner's quoting end to end)
 *   FPU_PROBE     write to the UART, then touch memory with SSE and x87 instructions: after a VM exit, this
 *                 host's nested KVM fails on the x87 one ("KVM internal error. Suberror: 1", docs/architecture.md);
 *                 it prints S before the SSE store and X before the x87 load, so the console shows how far it got
 */

#ifndef STATUS
#define STATUS 0
#endif

#define DEBUG_EXIT_PORT 0xf4
#define UART_THR        0x3f8
#define UART_LSR        0x3fd
#define LSR_THRE        0x20
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_INFO_CMDLINE   24     /* offset of cmdline_paddr in struct hvm_start_info */

/* Writes %al to the 16550 once its transmit register is empty, so QEMU never drops a byte. Clobbers %ecx, %edx. */
.macro putc
        mov %eax, %ecx
        mov $UART_LSR, %dx
1:      in %dx, %al
        test $LSR_THRE, %al
        jz 1b
        mov %ecx, %eax
        mov $UART_THR, %dx
        out %al, %dx
.endm

/* PVH entry note: owner "Xen"; QEMU reads the descriptor of an ELF64 note as 8 bytes. */
        .section .note.Xen, "a", @note
        .p2align 2
        .long 4, 8, XEN_ELFNOTE_PHYS32_ENTRY
        .asciz "Xen"
        .p2align 2
        .quad _start

        .text
        .code32
        .globl _start
_start:
#ifdef ECHO_CMDLINE
        mov HVM_START_INFO_CMDLINE(%ebx), %esi  /* below 4 GiB: the high half is ignored */
2:      movzbl (%esi), %eax
        test %al, %al
        jz 3f
        putc
        inc %esi
        jmp 2b
3:      mov $'\n', %al
        putc
#endif
#ifdef FPU_PROBE
        mov %cr0, %eax
        and $~0x4, %eax                         /* clear EM */
        or $0x22, %eax                          /* set MP, NE */
        mov %eax, %cr0
        mov %cr4, %eax
        or $0x600, %eax                         /* OSFXSR | OSXMMEXCPT */
        mov %eax, %cr4
        fninit
        mov $'S', %al
        putc                                    /* a VM exit ... */
        movdqu %xmm0, scratch                   /* ... then an SSE memory access */
        mov $'X', %al
        putc
        fldl scratch                            /* ... and an x87 one */
        mov $'\n', %al
        putc
#endif
#ifndef HANG
        mov $DEBUG_EXIT_PORT, %dx
        mov $STATUS, %eax
        out %eax, %dx
#endif
4:      hlt                                     /* only reached without an isa-debug-exit device */
        jmp 4b

#ifdef FPU_PROBE
        .bss
        .p2align 4
scratch:
        .space 16
#endif
