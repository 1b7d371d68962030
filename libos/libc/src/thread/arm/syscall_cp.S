/* __syscall_cp_asm(cancel, call, a, b, c, d, e, f): a cancellation point's call into the library OS
 * (uf_syscall_cp.c), under the name musl's pthread_cancel.c knows, with the library OS's function where musl's
 * takes a syscall number. From __cp_begin up to the call's return (__cp_end), a pending cancellation is acted on
 * at once: here at the start, and by SIGCANCEL's handler (musl's pthread_cancel.c) if the thread is interrupted
 * there. A call that returns to __cp_end is a cancellation point's, which the library OS recognizes in the frame
 * chain. In the libc's instruction set (Thumb-2 with the target's -mthumb), as musl's own is: SIGCANCEL's handler
 * moves an interrupted thread's pc to __cp_cancel and leaves its CPSR's T bit as it was. */
#ifdef __thumb__
	.thumb
#else
	.arm
#endif
	.syntax unified
	.text
	.globl __cp_begin, __cp_end, __cp_cancel, __syscall_cp_asm
	.hidden __cp_begin, __cp_end, __cp_cancel, __syscall_cp_asm, __cancel
	.type __syscall_cp_asm, %function
__syscall_cp_asm:
__cp_begin:
	ldr ip, [r0]
	cmp ip, #0
	bne __cp_cancel
	push {r4, r5, r11, lr}
	add r11, sp, #8         /* a frame record: {r11, lr} */
	mov ip, r1
	mov r0, r2
	mov r1, r3
	ldr r2, [sp, #16]
	ldr r3, [sp, #20]
	ldr r4, [sp, #24]
	ldr r5, [sp, #28]
	push {r4, r5}           /* e and f, the call's stack arguments */
	blx ip
__cp_end:
	add sp, sp, #8
	pop {r4, r5, r11, pc}
__cp_cancel:
	b __cancel
	.size __syscall_cp_asm, . - __syscall_cp_asm
