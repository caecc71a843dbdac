/* See mlnn_fastmath.h for the ops' contract.
 *
 * CPU levels and their tables.  This file compiles the generic kernels
 * (mlnn_level_impl.h, which includes mlnn_fastmath_impl.h and
 * mlnn_dense_impl.h) once per CPU level, each time under its own target
 * pragma and name suffix, and each compilation defines one const table,
 * ops_base, ops_avx2, ops_avx512, holding that level's version of every
 * op in MLNN_OPS.
 * LEVELS below lists the levels with their table and CPU check.  The first
 * call of mlnn_get_ops() picks the highest level that is compiled, that the
 * CPU has (cpuid, via __builtin_cpu_supports) and that MLNN_CPU_LEVEL allows,
 * and returns its table; later calls return the same pointer.
 *
 * To add a level: one more "#pragma GCC target / #include
 * mlnn_level_impl.h" block below, one enum value in mlnn_fastmath.h, and one
 * row in LEVELS with the CPU check.
 *
 * Inside the generic source MLNN_VBYTES is the level's vector width (bytes)
 * for code written with GCC/Clang vector extensions (0: plain loops only)
 * and MLNN_LEVEL names the level, for the few kernels written with a level's
 * intrinsics.  (GCC's target_clones is not used: its clones were not
 * vectorized with the wider registers; bench/README.md.)
 */
#include "mlnn_fastmath.h"
#include "mlnn_spec.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(_MSC_VER) && !defined(restrict)
#define restrict __restrict
#endif

/* The AVX2 and AVX-512 levels need GCC or Clang on x86-64 (target pragmas,
 * __builtin_cpu_supports); elsewhere only the baseline level is built. */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) \
    && !defined(MLNN_NO_DISPATCH)
#define MLNN_DISPATCH 1
#else
#define MLNN_DISPATCH 0
#endif

/* A kernel whose signature differs from the op list's must not compile into
 * a level's table (mlnn_level_impl.h). */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic error "-Wincompatible-pointer-types"
#endif

#if MLNN_DISPATCH
#include <immintrin.h> /* a level's intrinsics loops (mlnn_fastmath_impl.h) */
#endif
/* SSE2 is part of every x86-64 CPU and compiler target: the baseline
 * level's tanh, exp and sigmoid (float64) are SSE2 intrinsics there, the
 * generic kernels elsewhere. */
#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define MLNN_HAVE_SSE2 1
#else
#define MLNN_HAVE_SSE2 0
#endif

static const double MAGIC = 6755399441055744.0; /* 1.5 * 2^52 */
static const double LOG2E = 1.4426950408889634074;
static const double LN2_HI = 6.93145751953125E-1;
static const double LN2_LO = 1.42860682030941723212E-6;
static const double LN2 = 0.693147180559945309417;      /* LN2_HI + LN2_LO, rounded */
/* EXP_HI = log(DBL_MAX) = 709.7827: above, exp = inf */
static const double EXP_LO = -708.39641853226408; /* log(DBL_MIN): below, exp = 0 */
/* exp clamps its argument to [EXP_LO, EXP_CLAMP_HI] before the range
 * reduction, so that n = round(x / ln2) lies in [-1022, 1024]: 2^n is built
 * in the exponent bits from n capped at 1023 (T_CAP = MAGIC + 1023, the
 * rounded sum that holds n = 1023) and doubled where n = 1024.  exp of
 * EXP_CLAMP_HI (between EXP_HI and 1024.5 ln2) overflows, so every x above
 * EXP_HI gives inf; results below EXP_LO are replaced by 0. */
static const double EXP_CLAMP_HI = 709.8;
static const double T_CAP = 6755399441055744.0 + 1023.0;
/* tanh(x) rounds to +-1 in double from |x| = 19.06 on; clamping |x| here
 * keeps expm1(2|x|) finite. */
static const double TANH_SATURATE = 20.0;
/* V in expm1(r) = r + r^2 V(r), lowest degree first (tools/fit_expm1.py) */
#define MLNN_EXPM1_V(F)                                                        \
    F(0, 0.5000000000000001) F(1, 0.16666666666666669)                          \
    F(2, 0.041666666666624164) F(3, 0.008333333333330065)                       \
    F(4, 0.001388888891719689) F(5, 0.00019841269863040675)                     \
    F(6, 2.480152132210459e-05) F(7, 2.7557268480106926e-06)                    \
    F(8, 2.762007600563138e-07) F(9, 2.5100375929185925e-08)
#define MLNN_COEF(k, c) c,
#define MLNN_COEF2(k, c) c * (double)(2 << k), /* exact: times 2^(k+1) */
static const double EXPM1_V[10] = {MLNN_EXPM1_V(MLNN_COEF)};
/* 2^(k+1) V[k]: the polynomial in r = x/2 that gives expm1(x)/2 (tanh) */
static const double EXPM1_V2[10] = {MLNN_EXPM1_V(MLNN_COEF2)};
#undef MLNN_COEF
#undef MLNN_COEF2

/* The float versions: the same algorithms in float arithmetic, with float
 * constants.  MAGIC_F = 1.5 * 2^23 rounds to an integer in a float's low
 * mantissa bits; LN2_HI_F has 15 significant bits, so n * LN2_HI_F is exact
 * (|n| < 2^9) with or without FMA. */
static const float MAGIC_F = 12582912.0f;
static const float T_CAP_F = 12582912.0f + 127.0f;
static const float LOG2E_F = 1.44269504f;
static const float LN2_HI_F = 0.693145751953125f;
static const float LN2_LO_F = 1.42860682e-6f;
static const float LN2_HALF_F = 0.346573591f; /* ln2 / 2 rounded to float */
static const float EXP_CLAMP_HI_F = 88.8f; /* exp overflows a float from 88.7228 */
static const float EXP_LO_F = -87.3365402f; /* the float above log(FLT_MIN) */
/* tanh(x) rounds to +-1 in float from |x| = 9.02 on */
static const float TANH_SATURATE_F = 10.0f;
/* V in expm1(r) = r + r^2 V(r) for float: degree 5 (tools/fit_expm1.py 6;
 * relative error 0.009 * 2^-24 before rounding) */
#define MLNN_EXPM1F_V(F)                                                       \
    F(0, 0.5000000013457808) F(1, 0.16666666681614345)                          \
    F(2, 0.04166646500523263) F(3, 0.008333310934359203)                        \
    F(4, 0.0013933641121625462) F(5, 0.00019890980969294606)
#define MLNN_COEF(k, c) (float)(c),
#define MLNN_COEF2(k, c) (float)(c * (double)(2 << k)),
static const float EXPM1F_V[6] = {MLNN_EXPM1F_V(MLNN_COEF)};
static const float EXPM1F_V2[6] = {MLNN_EXPM1F_V(MLNN_COEF2)};
#undef MLNN_COEF
#undef MLNN_COEF2

/* MLNN_VBYTES of each level: 0 (plain loops only) without GCC/Clang vector
 * extensions. */
#if defined(__GNUC__) || defined(__clang__)
#define MLNN_VBYTES_BASE 16
#define MLNN_VBYTES_AVX2 32
#define MLNN_VBYTES_AVX512 64
#else
#define MLNN_VBYTES_BASE 0
#define MLNN_VBYTES_AVX2 0
#define MLNN_VBYTES_AVX512 0
#endif

/* Level ids for the preprocessor (MLNN_LEVEL, for a level's intrinsics), in
 * the order of enum mlnn_cpu_level */
#define MLNN_LEVEL_ID_BASELINE 0
#define MLNN_LEVEL_ID_AVX2 1
#define MLNN_LEVEL_ID_AVX512 2

/* ---- baseline x86-64 (SSE2): every build ---- */
#define MLNN_LEVEL MLNN_LEVEL_ID_BASELINE
#define MLNN_SUFFIX _base
#define MLNN_VBYTES MLNN_VBYTES_BASE
#include "mlnn_level_impl.h"
#undef MLNN_VBYTES
#undef MLNN_SUFFIX
#undef MLNN_LEVEL

#if MLNN_DISPATCH
/* ---- AVX2 + FMA ---- */
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define MLNN_LEVEL MLNN_LEVEL_ID_AVX2
#define MLNN_SUFFIX _avx2
#define MLNN_VBYTES MLNN_VBYTES_AVX2
#include "mlnn_level_impl.h"
#undef MLNN_VBYTES
#undef MLNN_SUFFIX
#undef MLNN_LEVEL
#pragma GCC pop_options

/* ---- AVX-512 F + VL + DQ (with AVX2 + FMA): Skylake-SP, Ice Lake, Zen 4
 * and later ---- */
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")
#define MLNN_LEVEL MLNN_LEVEL_ID_AVX512
#define MLNN_SUFFIX _avx512
#define MLNN_VBYTES MLNN_VBYTES_AVX512
#include "mlnn_level_impl.h"
#undef MLNN_VBYTES
#undef MLNN_SUFFIX
#undef MLNN_LEVEL
#pragma GCC pop_options
#endif

/* ---- CPU checks ---- */

static int cpu_has_baseline(void)
{
    return 1; /* SSE2 is part of x86-64 */
}

#if MLNN_DISPATCH
/* __builtin_cpu_supports also asks the OS (XGETBV) whether it saves the
 * AVX / AVX-512 registers. */
static int cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int cpu_has_avx512(void)
{
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f")
           && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}
#endif

/* ---- the levels, lowest first (indexed by enum mlnn_cpu_level) ---- */

struct mlnn_level {
    const char *name;            /* MLNN_CPU_LEVEL's value for it */
    const char *isa;             /* the instruction sets its code uses */
    const struct mlnn_ops *ops;  /* NULL: not compiled in this build */
    int (*cpu_has)(void);        /* NULL: this build cannot ask the CPU */
};

static const struct mlnn_level LEVELS[MLNN_N_LEVELS] = {
    [MLNN_LEVEL_BASELINE] = {"baseline", "sse2", &ops_base, cpu_has_baseline},
#if MLNN_DISPATCH
    [MLNN_LEVEL_AVX2] = {"avx2", "avx2+fma", &ops_avx2, cpu_has_avx2},
    [MLNN_LEVEL_AVX512] = {"avx512", "avx512f/vl/dq+avx2+fma", &ops_avx512, cpu_has_avx512},
#else
    [MLNN_LEVEL_AVX2] = {"avx2", "avx2+fma", NULL, NULL},
    [MLNN_LEVEL_AVX512] = {"avx512", "avx512f/vl/dq+avx2+fma", NULL, NULL},
#endif
};

static int valid(int level)
{
    return level >= 0 && level < MLNN_N_LEVELS;
}

const char *mlnn_level_name(int level)
{
    return valid(level) ? LEVELS[level].name : NULL;
}

const char *mlnn_level_isa(int level)
{
    return valid(level) ? LEVELS[level].isa : NULL;
}

int mlnn_level_compiled(int level)
{
    return valid(level) && LEVELS[level].ops != NULL;
}

int mlnn_cpu_has_level(int level)
{
    return valid(level) && LEVELS[level].cpu_has != NULL && LEVELS[level].cpu_has();
}

int mlnn_level_supported(int level)
{
    return mlnn_level_compiled(level) && mlnn_cpu_has_level(level);
}

/* The choice, made once.  Racing first calls all compute and store the same
 * values (selected last), so no lock is needed; in practice the first call
 * is mlnn._kernels' import. */
static volatile int selected = -1;
static char requested_buf[32]; /* a copy: the environment may change later */
static const char *requested = NULL;
static int request_known = 0;

static int choose(void)
{
    int cap = MLNN_N_LEVELS - 1;
    const char *req = getenv("MLNN_CPU_LEVEL");
    const char *old = getenv("MLNN_CPU_PATH"); /* older spelling of =baseline */
    if ((req == NULL || *req == '\0') && old != NULL && strcmp(old, "baseline") == 0)
        req = "baseline";
    if (req != NULL && *req != '\0') {
        strncpy(requested_buf, req, sizeof requested_buf - 1);
        requested = requested_buf;
        for (int lv = 0; lv < MLNN_N_LEVELS; ++lv)
            if (strcmp(req, LEVELS[lv].name) == 0) {
                cap = lv;
                request_known = 1;
            }
    }
    int lv = cap;
    while (lv > 0 && !mlnn_level_supported(lv))
        --lv;
    return lv;
}

int mlnn_level_selected(void)
{
    int lv = selected;
    if (lv < 0) {
        lv = choose();
        selected = lv;
    }
    return lv;
}

const struct mlnn_ops *mlnn_get_ops(void)
{
    return LEVELS[mlnn_level_selected()].ops;
}

const char *mlnn_level_requested(void)
{
    mlnn_level_selected();
    return requested;
}

int mlnn_level_request_known(void)
{
    mlnn_level_selected();
    return request_known;
}
