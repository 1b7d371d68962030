/* Ending the machine. */
#ifndef UF_EXIT_H
#define UF_EXIT_H

/* The status of a crash report or panic (the runner tells it apart from the app's own statuses by the report). */
#define UF_EXIT_CRASH 127

/* Ends the machine, reporting status to the host where the platform can: x86_64 QEMU exits with
 * (status << 1) | 1 (7 bits survive); ARMv7 QEMU with -semihosting exits with status itself. */
_Noreturn void uf_exit(int status);

#endif
