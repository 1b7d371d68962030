/* Entry stubs. Exceptions (0-31), interrupts and software traps (32-255) run on IST1 (see trap.c), so a stack
 * overflow into the guard page is still reported and the interrupted stack is never written; each stub makes the
 * frame uniform (a 0 where the CPU pushes no error code) and pushes its vector. common saves the GPRs as struct
 * uf_trap_frame and calls uf_trap_handler(frame), which may change the frame before it is resumed. */

/* Vectors for which the CPU pushes an error code: #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX */
#define HAS_ERR(n) ((n) == 8 || ((n) >= 10 && (n) <= 14) || (n) == 17 || (n) == 21 || (n) == 29 || (n) == 30)

	.section .text.uf_trap_entry, "ax", @progbits
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
trap_stub_\n:
	.if !HAS_ERR(\n)
	push $0
	.endif
	push $\n
	jmp common
	.endr

common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi          /* 22 quadwords below the 16-byte aligned IST top: %rsp stays 16-byte aligned */
	cld
	call uf_trap_handler
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp           /* vector, error code */
	iretq

/* Interrupt stubs, 8 bytes each at uf_trap_irq_stubs + 8 * (vector - 32), in their own section so that images
 * which never call uf_trap_set_handler drop them. push imm8 sign-extends: trap.c takes the vector's low byte. */
	.section .text.uf_trap_irq_stubs, "ax", @progbits
	.balign 8
	.globl uf_trap_irq_stubs
uf_trap_irq_stubs:
	.set vector, 32
	.rept 224
	.byte 0x6a, vector & 0xff       /* push $vector (imm8) */
	jmp irq_common
	.balign 8, 0xcc                 /* 8 bytes whichever jump size the assembler picks */
	.set vector, vector + 1
	.endr
irq_common:
	push (%rsp)                     /* the vector again: the first copy stands in for the error code */
	jmp common

	.section .rodata.uf_trap_stubs, "a", @progbits
	.balign 8
	.globl uf_trap_stubs
uf_trap_stubs:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad trap_stub_\n
	.endr

	/* The exception stack (IST1): no file bytes, not zeroed. */
	.section .uf_stack, "aw", @nobits
	.balign 16
	.globl uf_trap_stack_top
	.skip 16384
uf_trap_stack_top:
