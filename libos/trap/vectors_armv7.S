/* ARMv7 exception vectors (VBAR) and entry code. Every exception and interrupt runs on one exception stack, in ABT
 * mode: the return state goes there (srs), then the core registers, the interrupted mode's banked sp and lr, and
 * the VFP registers (the library OS's C code uses them), so that a stack overflow in SVC mode is still reported
 * and the interrupted stack is never written. The frame is struct uf_trap_frame and uf_trap_handler(frame)
 * decides; when it returns, the (possibly changed) frame resumes: VFP registers, banked sp and lr, core
 * registers, then pc and CPSR. */

#define MODE_MASK 0x1f
#define MODE_USR  0x10
#define MODE_FIQ  0x11
#define MODE_IRQ  0x12
#define MODE_SVC  0x13
#define MODE_ABT  0x17
#define MODE_UND  0x1b
#define MODE_SYS  0x1f
/* struct uf_trap_frame kind (uf/trap.h) */
#define UF_TRAP_UND  1
#define UF_TRAP_SVC  2
#define UF_TRAP_PABT 3
#define UF_TRAP_DABT 4
#define UF_TRAP_FIQ  5
#define UF_TRAP_OTHER 6
#define UF_TRAP_IRQ 7

	.syntax unified
	.arm
	.section .text.uf_trap_vectors, "ax", %progbits
	.balign 32                      /* VBAR's low 5 bits are zero */
	.globl uf_trap_vectors
uf_trap_vectors:
	b other_entry                   /* reset: never taken through VBAR */
	b und_entry
	b svc_entry
	b pabt_entry
	b dabt_entry
	b other_entry                   /* hyp trap: only in HYP mode */
	b irq_entry
	b fiq_entry

/* lr - adjust is the faulting instruction (ARM state; B1.8.3 "Exception return"). */
.macro sync_entry kind, adjust
	sub lr, lr, #\adjust
	srsdb sp!, #MODE_ABT            /* pc and CPSR of the interrupted code, onto the exception stack */
	cps #MODE_ABT
	push {r0-r12}
	mov r6, #\kind
	b sync_common
.endm

und_entry:
	sync_entry UF_TRAP_UND, 4
svc_entry:
	sync_entry UF_TRAP_SVC, 4
pabt_entry:
	sync_entry UF_TRAP_PABT, 4
dabt_entry:
	sync_entry UF_TRAP_DABT, 8
fiq_entry:
	sync_entry UF_TRAP_FIQ, 4
other_entry:
	sync_entry UF_TRAP_OTHER, 0
irq_entry:
	sync_entry UF_TRAP_IRQ, 4        /* lr - 4: the interrupted instruction, to resume */

sync_common:
	/* The interrupted mode's sp and lr are banked: read them in that mode (User's are System's). */
	ldr r0, [sp, #(13 * 4 + 4)]     /* the saved CPSR, above r0-r12 and pc */
	bl banked_mode
	mrs r1, cpsr
	bic r2, r1, #MODE_MASK
	orr r2, r2, r0
	msr cpsr_c, r2
	mov r7, sp
	mov r8, lr
	msr cpsr_c, r1
	push {r6-r8}                    /* kind, sp, lr */
	vmrs r0, fpscr
	push {r0, r1}                   /* FPSCR and a pad word (8-byte alignment) */
	vpush {d16-d31}
	vpush {d0-d15}                  /* d0 at the lowest address: the frame is complete */
	mov r0, sp
	mov r4, sp
	bic sp, sp, #7                  /* AAPCS: 8-byte aligned at calls */
	bl uf_trap_handler
	mov sp, r4
	vpop {d0-d15}
	vpop {d16-d31}
	pop {r0, r1}
	vmsr fpscr, r0
	pop {r6-r8}                     /* kind, sp, lr: the banked registers as the frame now says */
	ldr r0, [sp, #(13 * 4 + 4)]
	bl banked_mode
	cmp r0, #MODE_ABT               /* a trap while reporting one (semihosting from uf_exit): ABT's sp is ours */
	beq 1f
	mrs r1, cpsr
	bic r2, r1, #MODE_MASK
	orr r2, r2, r0
	msr cpsr_c, r2
	mov sp, r7
	mov lr, r8
	msr cpsr_c, r1
1:	pop {r0-r12}
	rfeia sp!                       /* pc and CPSR from the frame */

/* r0: a CPSR; returns the mode whose banked sp and lr hold its registers (User's are System's). */
banked_mode:
	and r0, r0, #MODE_MASK
	cmp r0, #MODE_USR
	moveq r0, #MODE_SYS
	bx lr

/* Called once by uf_trap_init: the stack pointers of the exception modes. Only ABT's is used (the entries above
 * switch to ABT before they push); the others point at it so that nothing runs with an unknown sp. */
	.section .text.uf_trap_init_stacks, "ax", %progbits
	.globl uf_trap_init_stacks
	.type uf_trap_init_stacks, %function
uf_trap_init_stacks:
	mrs r0, cpsr
	ldr r1, =uf_trap_stack_top
	cps #MODE_ABT
	mov sp, r1
	cps #MODE_UND
	mov sp, r1
	cps #MODE_IRQ
	mov sp, r1
	cps #MODE_FIQ
	mov sp, r1
	msr cpsr_c, r0
	bx lr
	.ltorg
	.size uf_trap_init_stacks, . - uf_trap_init_stacks

	/* The exception stack: no file bytes, not zeroed. */
	.section .uf_stack, "aw", %nobits
	.balign 8
	.skip 16384
	.globl uf_trap_stack_top
uf_trap_stack_top:
