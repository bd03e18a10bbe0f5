/* Context switch for x86-64 System V.
 *
 * void tn__ctx_switch(void **from_sp, void *to_sp)
 *
 * Only what the ABI makes callee-saved is kept: rbx, rbp, r12-r15.  The
 * MXCSR and x87 control words are not touched here: tasks share the
 * core's floating-point environment unless spawned with opts.fpenv, whose
 * environment the scheduler saves and restores around its switches
 * (tn__fpenv_save/load below).  Reading MXCSR costs more than the rest
 * of the switch together on current CPUs, and almost no task changes it.
 *
 * Saved frame, from high to low addresses:
 *
 *   [sp+48] resume address (pushed by the caller's call)
 *   [sp+40] rbp   [sp+32] rbx   [sp+24] r12
 *   [sp+16] r13   [sp+8]  r14   [sp+0]  r15
 *
 * The switch ends in a plain ret: every task parks through the same call
 * site (tn__task_park), so the return-stack buffer predicts the resume
 * address exactly.  (Popping it and jumping would leave the RSB one entry
 * out of step, and every later return would mispredict.)
 */
	.text
	.globl	tn__ctx_switch
	.hidden	tn__ctx_switch
	.type	tn__ctx_switch, @function
	.p2align 4
tn__ctx_switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	tn__ctx_switch, .-tn__ctx_switch

/* void tn__fpenv_save(struct tn_fpenv *env): MXCSR at 0, x87 CW at 4. */
	.globl	tn__fpenv_save
	.hidden	tn__fpenv_save
	.type	tn__fpenv_save, @function
	.p2align 4
tn__fpenv_save:
	stmxcsr	(%rdi)
	fnstcw	4(%rdi)
	ret
	.size	tn__fpenv_save, .-tn__fpenv_save

/* void tn__fpenv_load(const struct tn_fpenv *env) */
	.globl	tn__fpenv_load
	.hidden	tn__fpenv_load
	.type	tn__fpenv_load, @function
	.p2align 4
tn__fpenv_load:
	ldmxcsr	(%rdi)
	fldcw	4(%rdi)
	ret
	.size	tn__fpenv_load, .-tn__fpenv_load

/* First code a new context runs: the initial frame built by
 * tn__ctx_make holds entry in r12 and its argument in r13.  The stack is
 * 16-byte aligned here, as a call requires.  entry never returns. */
	.globl	tn__ctx_trampoline
	.hidden	tn__ctx_trampoline
	.type	tn__ctx_trampoline, @function
	.p2align 4
tn__ctx_trampoline:
	.cfi_startproc
	.cfi_undefined rip
	movq	%r13, %rdi
	callq	*%r12
	ud2
	.cfi_endproc
	.size	tn__ctx_trampoline, .-tn__ctx_trampoline

	.section .note.GNU-stack,"",@progbits
