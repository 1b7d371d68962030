/* Ending the machine. */
#ifndef UF_EXIT_H
#define UF_EXIT_H

/* The status of a crash report or panic (the runner tells it apart from the app's own statuses by the report). */
#define UF_EXIT_CRASH 127

/* Ends the machine, reporting status to the host where the platform can (QEMU exits with (status << 1) | 1). */
_Noreturn void uf_exit(int status);

#endif
