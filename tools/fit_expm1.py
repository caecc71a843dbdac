"""Coefficients of V in expm1(r) = r + r^2 V(r), |r| <= ln2/2 (EXPM1_V in csrc/mlnn_fastmath.c).

    python tools/fit_expm1.py [n_coef]      (default 10: V of degree 9)

Needs mpmath.  A Chebyshev fit (mpmath.chebyfit, 50 digits) of (expm1(r) - r) / r^2 over
[-ln2/2, ln2/2] (widened by 1e-6 for the rounding of the range reduction).
Prints the coefficients, lowest degree first, as C double literals, and the
largest relative error of r + r^2 V(r) with the coefficients rounded to
double but evaluated exactly, in units of 2^-53.
"""
import sys

import mpmath as mp


def main(n_coef=10):
    mp.mp.dps = 50
    half = mp.log(2) / 2 * (1 + mp.mpf("1e-6"))

    def v_exact(r):
        if abs(r) < mp.mpf("1e-30"):
            return mp.mpf(1) / 2
        return (mp.expm1(r) - r) / r**2

    poly = mp.chebyfit(v_exact, [-half, half], n_coef)
    coefs = [float(c) for c in poly[::-1]]
    worst = 0
    for i in range(2001):
        r = -half + 2 * half * i / 2000
        approx = r + r * r * sum(mp.mpf(c) * r**k for k, c in enumerate(coefs))
        exact = mp.expm1(r)
        if exact != 0:
            worst = max(worst, abs((approx - exact) / exact))
    for c in coefs:
        print(repr(c))
    print(f"max relative error before rounding: {float(worst / mp.mpf(2)**-53):.3f} x 2^-53")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
