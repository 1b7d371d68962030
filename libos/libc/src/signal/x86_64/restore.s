/* The return address of every signal frame (musl's sigaction sets it as sa_restorer): the handler returns here
 * with %rsp at the frame's ucontext, and rt_sigreturn resumes the interrupted code from it. The library OS runs
 * in ring 0 without a syscall entry, so the trap is its signal trap (int $0x80, module trap) with the syscall
 * number in %eax, instead of Linux's `syscall`. */
	.text
	.global __restore_rt
	.hidden __restore_rt
	.type __restore_rt, @function
__restore_rt:
	mov $15, %eax           /* SYS_rt_sigreturn */
	int $0x80
	.size __restore_rt, . - __restore_rt
