/* The element type's names and constants for the kernel templates
 * (mlnn_scalar_impl.h, mlnn_vec_impl.h): included at a template's start with
 * MLNN_KDOUBLE set (1: double, 0: float) to define them, and at its end with
 * MLNN_KCONST_UNDEF defined to take them back.  The constants themselves are
 * mlnn_fastmath.c's.  Not a public header. */
#ifndef MLNN_KCONST_UNDEF
#if MLNN_KDOUBLE
#define MLNN_KT double
#define MLNN_KTS d
#define MLNN_KU uint64_t /* the bits of an MLNN_KT */
#define MLNN_KMANT 52    /* mantissa bits */
#define MLNN_KFABS fabs
#define MLNN_KCOPYSIGN copysign
#define MLNN_KC_MAGIC MAGIC
#define MLNN_KC_LOG2E LOG2E
#define MLNN_KC_TWO_LOG2E (2.0 * LOG2E)
#define MLNN_KC_HALF_LN2 (0.5 * LN2)
#define MLNN_KC_LN2_HI LN2_HI
#define MLNN_KC_LN2_LO LN2_LO
#define MLNN_KC_EXP_LO EXP_LO
#define MLNN_KC_EXP_CLAMP_HI EXP_CLAMP_HI
#define MLNN_KC_T_CAP T_CAP
#define MLNN_KC_TANH_SATURATE TANH_SATURATE
#define MLNN_KC_BIAS 1023
#define MLNN_KC_EXPM1 EXPM1_V
#define MLNN_KC_EXPM1_2 EXPM1_V2
#define MLNN_KC_NCOEF 10
#else
#define MLNN_KT float
#define MLNN_KTS f
#define MLNN_KU uint32_t
#define MLNN_KMANT 23
#define MLNN_KFABS fabsf
#define MLNN_KCOPYSIGN copysignf
#define MLNN_KC_MAGIC MAGIC_F
#define MLNN_KC_LOG2E LOG2E_F
#define MLNN_KC_TWO_LOG2E (2.0f * LOG2E_F)
#define MLNN_KC_HALF_LN2 LN2_HALF_F
#define MLNN_KC_LN2_HI LN2_HI_F
#define MLNN_KC_LN2_LO LN2_LO_F
#define MLNN_KC_EXP_LO EXP_LO_F
#define MLNN_KC_EXP_CLAMP_HI EXP_CLAMP_HI_F
#define MLNN_KC_T_CAP T_CAP_F
#define MLNN_KC_TANH_SATURATE TANH_SATURATE_F
#define MLNN_KC_BIAS 127
#define MLNN_KC_EXPM1 EXPM1F_V
#define MLNN_KC_EXPM1_2 EXPM1F_V2
#define MLNN_KC_NCOEF 6
#endif
/* a kernel's name for this type and level: tanh_kernel_ -> tanh_kernel_d_avx2 */
#define MLNN_KN(name) MLNN_NAME(MLNN_CAT(name, MLNN_KTS))
#else
#undef MLNN_KN
#undef MLNN_KC_NCOEF
#undef MLNN_KC_EXPM1_2
#undef MLNN_KC_EXPM1
#undef MLNN_KC_BIAS
#undef MLNN_KC_TANH_SATURATE
#undef MLNN_KC_T_CAP
#undef MLNN_KC_EXP_CLAMP_HI
#undef MLNN_KC_EXP_LO
#undef MLNN_KC_LN2_LO
#undef MLNN_KC_LN2_HI
#undef MLNN_KC_HALF_LN2
#undef MLNN_KC_TWO_LOG2E
#undef MLNN_KC_LOG2E
#undef MLNN_KC_MAGIC
#undef MLNN_KCOPYSIGN
#undef MLNN_KFABS
#undef MLNN_KMANT
#undef MLNN_KU
#undef MLNN_KTS
#undef MLNN_KT
#undef MLNN_KDOUBLE
#endif
