"""Time the BLAS forms of a first layer's products on one chunk.

    python tools/gemm_forms.py M N_IN N_OUT [d|s]

A first layer on a chunk of M rows: X (M, N_IN), W (N_IN, N_OUT), the error
delta feature-major (N_OUT, M), as the kernels hold them.  In BLAS's
column-major terms the forward and dW are TT products when X is read
sample-major (the kernels' x_rows), NT and TN from a feature-major copy of
X (XT); dW^T is the NN product of the rows, to be transposed into place.
Each line: the median of 9 batches (scipy.linalg.blas, BLAS held to 1
thread), ms per product and GFLOP/s.  bench/README.md quotes the results
("W3 products on Zen 4").
"""

import sys
import time

import numpy as np
from scipy.linalg import blas
from threadpoolctl import threadpool_limits


def main():
    m, n_in, n_out = map(int, sys.argv[1:4])
    double = (sys.argv[4] if len(sys.argv) > 4 else "d") == "d"
    dt, gemm = (np.float64, blas.dgemm) if double else (np.float32, blas.sgemm)
    rng = np.random.default_rng(0)
    rows = np.asfortranarray(rng.standard_normal((n_in, m)).astype(dt))   # X, sample-major
    xt = np.asfortranarray(rows.T)                                         # XT, feature-major
    W = np.asfortranarray(rng.standard_normal((n_out, n_in)).astype(dt))  # W (n_in, n_out)
    delta = np.asfortranarray(rng.standard_normal((m, n_out)).astype(dt))
    dW = np.empty((n_in, n_out), dt, order="F")
    forms = {
        "forward, TT (rows)": lambda: gemm(1.0, rows, W, trans_a=1, trans_b=1),
        "forward, NT (XT)": lambda: gemm(1.0, xt, W, trans_a=0, trans_b=1),
        "dW, TT (rows)": lambda: gemm(1.0, delta, rows, trans_a=1, trans_b=1),
        "dW^T, NN (rows)": lambda: gemm(1.0, rows, delta, trans_a=0, trans_b=0),
        "dW, TN (XT)": lambda: gemm(1.0, delta, xt, trans_a=1, trans_b=0),
        "the transpose of dW^T": lambda: np.copyto(dW, W.T),
    }
    reps = max(1, int(2e8 / (m * n_in * n_out)))
    with threadpool_limits(1, user_api="blas"):
        for name, f in forms.items():
            f()
            times = []
            for _ in range(9):
                t = time.perf_counter()
                for _ in range(reps):
                    f()
                times.append((time.perf_counter() - t) / reps)
            t = sorted(times)[4]
            rate = "" if "transpose" in name else f"{2 * m * n_in * n_out / t / 1e9:7.1f} GFLOP/s"
            print(f"{m}x{n_in}x{n_out} {'float64' if double else 'float32'} "
                  f"{name:24s} {t * 1e3:8.3f} ms {rate}")


if __name__ == "__main__":
    main()
