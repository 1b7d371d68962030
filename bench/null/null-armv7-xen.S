/*
 * The Xen floor kernel for ARMv7: the smallest zImage that ends a run on a Xen rig. It writes the library OS's
 * status line ("uniforge: exit status N", what the runner ends a Xen run on) with console_io and shuts the domain
 * down: what a Xen boot costs before any Uniforge code runs. Position independent (Xen loads it where its zImage
 * header says, or anywhere if that says 0); hypercalls: `hvc #0xEA1`, number in r12, arguments in r0-r2.
 */

#ifndef STATUS
#define STATUS 0
#endif
#define HC_console_io   18
#define HC_sched_op     29
#define CONSOLEIO_write 0
#define SCHEDOP_shutdown 2

#define STR(x) #x
#define XSTR(x) STR(x)

        .syntax unified
        .arm
        .text
        .globl _start
_start:
        b 1f
        .org 0x24
        .word 0x016f2818                        /* zImage magic */
        .word 0                                 /* start: position independent */
        .word end - _start                      /* end */
1:      mov r0, #CONSOLEIO_write
        ldr r1, line_len
        adr r2, line
        mov r12, #HC_console_io
        hvc #0xea1
        mov r0, #SCHEDOP_shutdown
        adr r1, reason
        mov r12, #HC_sched_op
        hvc #0xea1
2:      wfi
        b 2b

line:   .ascii "uniforge: exit status " XSTR(STATUS) "\n"
line_end:
        .balign 4
line_len: .word line_end - line
reason: .word 0                                 /* SHUTDOWN_poweroff */
        .balign 8
end:
