/*
 * The Xen floor kernel for x86_64: the smallest PVH guest that ends a run on a Xen rig. It installs Xen's
 * hypercall page, writes the library OS's status line ("uniforge: exit status N", what the runner ends a Xen run
 * on) with console_io, and shuts the domain down: what a Xen boot costs before any Uniforge code runs.
 * PVH enters it in 32-bit protected mode, paging off, %esp undefined: it sets its own stack. 32-bit hypercall ABI:
 * arguments in %ebx, %ecx, %edx; the stub for hypercall N is at page + 32 * N.
 */

#ifndef STATUS
#define STATUS 0
#endif
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define XEN_CPUID_BASE  0x40000000      /* no Viridian leaves in front on the rig */
#define HC_console_io   18
#define HC_sched_op     29
#define CONSOLEIO_write 0
#define SCHEDOP_shutdown 2

#define STR(x) #x
#define XSTR(x) STR(x)

        .section .note.Xen, "a", @note
        .balign 4
        .long 4, 8, XEN_ELFNOTE_PHYS32_ENTRY
        .asciz "Xen"
        .balign 4
        .quad _start

        .text
        .code32
        .globl _start
_start:
        mov $stack_top, %esp
        mov $XEN_CPUID_BASE + 2, %eax
        cpuid                                   /* EBX: the MSR that installs the hypercall page */
        mov %ebx, %ecx
        mov $hypercall_page, %eax
        xor %edx, %edx
        wrmsr
        mov $CONSOLEIO_write, %ebx
        mov $(line_end - line), %ecx
        mov $line, %edx
        call hypercall_page + 32 * HC_console_io
        mov $SCHEDOP_shutdown, %ebx
        mov $reason, %ecx
        call hypercall_page + 32 * HC_sched_op
1:      hlt
        jmp 1b

line:   .ascii "uniforge: exit status " XSTR(STATUS) "\n"
line_end:
        .balign 4
reason: .long 0                                 /* SHUTDOWN_poweroff */

        .bss
        .balign 4096
hypercall_page:
        .skip 4096
        .skip 1024
stack_top:
