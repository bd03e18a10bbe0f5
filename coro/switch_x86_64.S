/* Context switch for x86-64 System V.
 *
 * void tn__ctx_switch(void **from_sp, void *to_sp)
 *
 * Only what the ABI makes callee-saved is kept: rbx, rbp, r12-r15, the
 * MXCSR control bits and the x87 control word.  Everything else is
 * already dead across a call.  Saved frame, from high to low addresses:
 *
 *   [sp+56] return address (pushed by the caller's call)
 *   [sp+48] rbp   [sp+40] rbx   [sp+32] r12
 *   [sp+24] r13   [sp+16] r14   [sp+8]  r15
 *   [sp+0]  MXCSR (4 bytes), x87 CW (2 bytes), 2 zero bytes
 *
 * ldmxcsr/fldcw are slow (microcoded), and tasks almost never change
 * them, so they are reloaded only when the incoming word differs from
 * the outgoing one.
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
	pushq	$0
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)
	movq	%rsp, %rax
	movq	%rsi, %rsp
	movq	(%rsp), %rcx
	cmpq	(%rax), %rcx
	jne	2f
1:	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
2:	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	jmp	1b
	.cfi_endproc
	.size	tn__ctx_switch, .-tn__ctx_switch

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
