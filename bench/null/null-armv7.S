/*
 * The ARMv7 null kernel (the floor of `uniforge bench`): the smallest guest for QEMU's virt machine, to measure what a boot costs before any
 * Uniforge code runs. QEMU enters the ELF in SVC (or HYP) mode with the MMU off; it leaves through ARM
 * semihosting SYS_EXIT_EXTENDED, which QEMU (-semihosting-config enable=on) ends with the status, whole.
 *
 * Build-time variants (-D), as for null-x86_64.S where they exist here:
 *   STATUS=n      exit status (default 0)
 *   HANG          never exit (timeout tests)
 */

#ifndef STATUS
#define STATUS 0
#endif

#define SYS_EXIT_EXTENDED            0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

        .syntax unified
        .arm
        .text
        .globl _start
_start:
#ifndef HANG
        mov r0, #SYS_EXIT_EXTENDED
        adr r1, exit_block
        svc 0x123456                            /* semihosting, ARM state */
#endif
1:      wfi                                     /* only reached without semihosting */
        b 1b

        .balign 4
exit_block:
        .word ADP_STOPPED_APPLICATION_EXIT, STATUS
