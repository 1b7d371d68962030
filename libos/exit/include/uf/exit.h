/* Ending the machine. */
#ifndef UF_EXIT_H
#define UF_EXIT_H

/* The status of a crash report or panic: outside a process's 0-255, so that no exit status reads as a crash. */
#define UF_EXIT_CRASH 256

/* Ends the machine with status (0-255, or UF_EXIT_CRASH), reporting it to the host where the platform can, in
 * a way the runner decodes (toolchain/uniforge/platforms/run.py decode_exit), one per platform:
 * - x86_64 QEMU: the status byte on the debug console (isa-debugcon, port 0xe9: a channel of the runner's apart
 *   from the serial console), then isa-debug-exit, which ends QEMU with ((code << 1) | 1) of which a process
 *   status keeps 7 bits: code is status & 0x7f, or 127 with no status byte for a crash;
 * - ARMv7 QEMU with -semihosting: SYS_EXIT_EXTENDED ends QEMU with the status, whole; a crash first writes
 *   one byte to the semihosting console (the runner's channel) and exits with 127;
 * - Xen: the console line "uniforge: exit status N" (or "... crash"), then SCHEDOP_shutdown. */
_Noreturn void uf_exit(int status);

/* Tells the runner, on the same channel as the status, that the app wants the console's input: the two bytes
 * 0xff 0x01 before any status (the runner strips them). Where the firmware and a boot loader read the serial line
 * before the image runs, the runner holds the input until then (platforms/run.py run_qemu). */
void uf_exit_want_input(void);

#endif
