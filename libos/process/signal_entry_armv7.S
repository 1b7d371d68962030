/* Module trap's signal hook on ARMv7 (ABT mode, on the exception stack, IRQs masked): module trap's entry saves
 * no VFP register, and they belong to the interrupted code, while the C code that builds or reads signal frames
 * may use them. So: save d0-d31 and FPSCR here, give them to uf_signal_trap(frame, state) (which puts them in a
 * signal frame, or replaces them with a frame's), and load them back. */
	.syntax unified
	.arm
	.section .text.uf_arch_signal_entry, "ax", %progbits
	.globl uf_arch_signal_entry
	.type uf_arch_signal_entry, %function
uf_arch_signal_entry:
	push {r4, lr}
	vmrs r4, fpscr
	push {r4, r5}                   /* struct vfp_state's fpscr and pad (8-byte alignment) */
	vpush {d16-d31}
	vpush {d0-d15}                  /* d0 at the lowest address: the struct's d[0..31] */
	mov r1, sp
	bl uf_signal_trap
	vpop {d0-d15}
	vpop {d16-d31}
	pop {r4, r5}
	vmsr fpscr, r4
	pop {r4, pc}
	.size uf_arch_signal_entry, . - uf_arch_signal_entry
