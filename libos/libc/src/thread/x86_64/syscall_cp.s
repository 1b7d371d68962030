/* __syscall_cp_asm(cancel, call, a, b, c, d, e, f): a cancellation point's call into the library OS
 * (uf_syscall_cp.c), under the name musl's pthread_cancel.c knows, with the library OS's function where musl's
 * takes a syscall number. From __cp_begin up to the call's return (__cp_end), a pending cancellation is acted on
 * at once: here at the start, and by SIGCANCEL's handler (musl's pthread_cancel.c) if the thread is interrupted
 * there. A call that returns to __cp_end is a cancellation point's, which the library OS recognizes in the frame
 * chain. */
	.text
	.globl __cp_begin, __cp_end, __cp_cancel, __syscall_cp_asm
	.hidden __cp_begin, __cp_end, __cp_cancel, __syscall_cp_asm, __cancel
	.type __syscall_cp_asm, @function
__syscall_cp_asm:
__cp_begin:
	mov (%rdi), %eax
	test %eax, %eax
	jnz __cp_cancel
	mov %rsi, %r11
	mov %rdx, %rdi
	mov %rcx, %rsi
	mov %r8, %rdx
	mov %r9, %rcx
	mov 8(%rsp), %r8
	mov 16(%rsp), %r9
	push %rbp               /* a frame record, and the call's stack alignment */
	mov %rsp, %rbp
	call *%r11
__cp_end:
	pop %rbp
	ret
__cp_cancel:
	jmp __cancel
	.size __syscall_cp_asm, . - __syscall_cp_asm
