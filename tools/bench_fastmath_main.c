/* The timing program of tools/bench_fastmath.py (see there). */
#include "mlnn_fastmath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const void *cur_tables[3];
int cur_level_supported(int level);
#ifdef BENCH_REF
extern const void *ref_tables[3];
#endif

typedef void (*fn_d)(const double *, double *, ptrdiff_t);
typedef void (*fn_f)(const float *, float *, ptrdiff_t);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static unsigned long long rng_state = 12345;
static double uniform(double lo, double hi)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * ((rng_state >> 11) * (1.0 / 9007199254740992.0));
}

/* argv: rounds levels(csv of 0/1/2) sizes(csv) */
int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 7;
    int levels[3], nlev = 0;
    for (char *p = argc > 2 ? argv[2] : "0,1,2"; *p; ++p)
        if (*p >= '0' && *p <= '2' && cur_level_supported(*p - '0'))
            levels[nlev++] = *p - '0';
    long sizes[8];
    int nsz = 0;
    for (char *p = argc > 3 ? argv[3] : "256,4096,65536"; *p && nsz < 8;) {
        sizes[nsz++] = strtol(p, &p, 10);
        if (*p == ',')
            ++p;
    }
    const char *ops[3] = {"tanh", "exp", "sigmoid"};
#ifdef BENCH_REF
    const void *const *tabs[2] = {ref_tables, cur_tables};
    const char *tags[2] = {"ref", "cur"};
    int ntab = 2;
#else
    const void *const *tabs[1] = {cur_tables};
    const char *tags[1] = {"cur"};
    int ntab = 1;
#endif
    long nmax = 0;
    for (int s = 0; s < nsz; ++s)
        nmax = sizes[s] > nmax ? sizes[s] : nmax;
    double *xd = malloc(nmax * sizeof *xd), *od = malloc(nmax * sizeof *od);
    float *xf = malloc(nmax * sizeof *xf), *of = malloc(nmax * sizeof *of);
    /* cells: tab x level x op x dtype x size, one value per round */
    int ncell = ntab * nlev * 3 * 2 * nsz;
    double *res = calloc((size_t)ncell * rounds, sizeof *res);
    for (int r = 0; r < rounds; ++r) {
        int c = 0;
        for (int o = 0; o < 3; ++o)
            for (int dt = 0; dt < 2; ++dt)
                for (int s = 0; s < nsz; ++s) {
                    long n = sizes[s];
                    double span = o == 1 ? 20.0 : 4.0;
                    for (long i = 0; i < n; ++i) {
                        xd[i] = uniform(-span, span);
                        xf[i] = (float)xd[i];
                    }
                    long reps = 1 + (long)(2e5 / n); /* about 0.1-0.5 ms a batch */
                    for (int l = 0; l < nlev; ++l)
                        for (int t = 0; t < ntab; ++t) {
                            /* alternate the order of the builds by round */
                            int tt = (r & 1) ? ntab - 1 - t : t;
                            const struct mlnn_ops *ops_ = tabs[tt][levels[l]];
                            int cell = c + (tt * nlev + l);
                            if (!ops_) {
                                res[(size_t)cell * rounds + r] = -1;
                                continue;
                            }
                            fn_d fd = o == 0 ? ops_->tanh_d : o == 1 ? ops_->exp_d : ops_->sigmoid_d;
                            fn_f ff = o == 0 ? ops_->tanh_f : o == 1 ? ops_->exp_f : ops_->sigmoid_f;
                            double best = 1e30;
                            for (int b = 0; b < 5; ++b) {
                                double t0 = now();
                                for (long k = 0; k < reps; ++k) {
                                    if (dt == 0)
                                        fd(xd, od, n);
                                    else
                                        ff(xf, of, n);
                                }
                                double dtm = (now() - t0) / reps;
                                best = dtm < best ? dtm : best;
                            }
                            res[(size_t)cell * rounds + r] = best / n * 1e9;
                        }
                    c += ntab * nlev;
                }
    }
    const char *lvname[3] = {"baseline", "avx2", "avx512"};
    const char *dtname[2] = {"float64", "float32"};
    printf("| level | op | dtype | build |");
    for (int s = 0; s < nsz; ++s)
        printf(" n=%ld |", sizes[s]);
    printf("\n|---|---|---|---|");
    for (int s = 0; s < nsz; ++s)
        printf("---:|");
    printf("\n");
    double *v = malloc(rounds * sizeof *v);
    for (int l = 0; l < nlev; ++l)
        for (int o = 0; o < 3; ++o)
            for (int dt = 0; dt < 2; ++dt)
                for (int t = 0; t < ntab; ++t) {
                    printf("| %s | %s | %s | %s |", lvname[levels[l]], ops[o], dtname[dt], tags[t]);
                    for (int s = 0; s < nsz; ++s) {
                        int c = ((o * 2 + dt) * nsz + s) * ntab * nlev + t * nlev + l;
                        memcpy(v, res + (size_t)c * rounds, rounds * sizeof *v);
                        qsort(v, rounds, sizeof *v, cmp);
                        if (v[0] < 0)
                            printf(" - |");
                        else
                            printf(" %.3f (%.3f–%.3f) |", v[rounds / 2], v[0], v[rounds - 1]);
                    }
                    printf("\n");
                }
    return 0;
}
