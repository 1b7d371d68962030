/* The return addresses of signal frames (musl's sigaction sets them as sa_restorer): __restore for handlers
 * without SA_SIGINFO (sigreturn: the frame's ucontext at sp), __restore_rt for SA_SIGINFO ones (rt_sigreturn: the
 * siginfo at sp, then the ucontext). The library OS runs in SVC mode; its svc #0 handler (module process, through
 * module trap) reads the syscall number from r7 as Linux's EABI does. */
	.syntax unified
	.arm
	.text
	.global __restore
	.hidden __restore
	.type __restore, %function
__restore:
	mov r7, #119            /* SYS_sigreturn */
	svc #0
	.size __restore, . - __restore

	.global __restore_rt
	.hidden __restore_rt
	.type __restore_rt, %function
__restore_rt:
	mov r7, #173            /* SYS_rt_sigreturn */
	svc #0
	.size __restore_rt, . - __restore_rt
