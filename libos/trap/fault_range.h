/* Where the fault hook's pages lie (uf_trap_set_fault_hook): its faults go to it, and backtraces walk frames there
 * (threads' stacks) as in RAM. Empty without a hook. */
#ifndef TRAP_FAULT_RANGE_H
#define TRAP_FAULT_RANGE_H

#include <stdint.h>

extern uintptr_t uf_trap_fault_from, uf_trap_fault_to;

#endif
