/* Context switch for AArch64 (AAPCS64).
 *
 * void tn__ctx_switch(void **from_sp, void *to_sp)
 *
 * Callee-saved state only: x19-x28, the frame pointer x29, the link
 * register x30 (the resume address) and d8-d15.  FPCR is left to the
 * scheduler (tn__fpenv_save/load, for tasks spawned with opts.fpenv), as
 * on x86-64.  Saved frame (176 bytes, 16-byte aligned), offsets from sp:
 *
 *   0 x19 x20 | 16 x21 x22 | 32 x23 x24 | 48 x25 x26 | 64 x27 x28
 *  80 x29 x30 | 96 d8 d9  | 112 d10 d11 | 128 d12 d13 | 144 d14 d15
 * 160 unused (keeps the frame 16-byte aligned)
 */
	.text
	.globl	tn__ctx_switch
	.hidden	tn__ctx_switch
	.type	tn__ctx_switch, %function
	.p2align 4
tn__ctx_switch:
	sub	sp, sp, #176
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mov	x9, sp
	str	x9, [x0]
	mov	sp, x1
	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	add	sp, sp, #176
	ret
	.size	tn__ctx_switch, .-tn__ctx_switch

/* void tn__fpenv_save(struct tn_fpenv *env) / tn__fpenv_load(env): FPCR. */
	.globl	tn__fpenv_save
	.hidden	tn__fpenv_save
	.type	tn__fpenv_save, %function
tn__fpenv_save:
	mrs	x9, fpcr
	str	x9, [x0]
	ret
	.size	tn__fpenv_save, .-tn__fpenv_save

	.globl	tn__fpenv_load
	.hidden	tn__fpenv_load
	.type	tn__fpenv_load, %function
tn__fpenv_load:
	ldr	x9, [x0]
	msr	fpcr, x9
	ret
	.size	tn__fpenv_load, .-tn__fpenv_load

/* First code of a new context: x19 = entry, x20 = its argument. */
	.globl	tn__ctx_trampoline
	.hidden	tn__ctx_trampoline
	.type	tn__ctx_trampoline, %function
	.p2align 4
tn__ctx_trampoline:
	mov	x0, x20
	blr	x19
	brk	#0
	.size	tn__ctx_trampoline, .-tn__ctx_trampoline

	.section .note.GNU-stack,"",%progbits
