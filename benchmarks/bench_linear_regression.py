"""Benchmark of the causal march of the ``linear-regression`` DMFT (square loss, GD).

Times ``dmft.solve("linear-regression", method="gd", scheme="march")`` (numba row kernels of
``solvers/weight_side.py` and `solvers/square_loss.py``) against ``numpy_march``, a plain-numpy transcription of the
same discrete equations (same causal row-by-row march, one vectorised slice / matrix-vector
product per sum), checks that both give the same trajectories, and fits the cost exponent
(wall time ~ N_t^p, p ~ 3 since row i costs O(i^2)).

    python benchmarks/bench_linear_regression.py [--sizes 200,400,800,1600,3200]
                                                  [--numpy-max 800] [--repeat 1]

One JSON document goes to stdout; progress messages go to stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from common import fit_exponent, log, machine_info

DT = 0.01
ALPHA = 2.0
SIGMA2 = 0.25
RIDGE = 0.0
RHO = 1.0
Q0 = 0.0
FIT_MIN_SIZE = 400


# ---------------------------------------------------------------------------------------------
# plain-numpy reference
# ---------------------------------------------------------------------------------------------
def numpy_march(alpha, sigma2, rho, ridge, q0, dt, n):
    """The discrete square-loss DMFT of GD, marched causally row by row with numpy.

    Same equations as the docstring of ``solvers/weight_side.py` and `solvers/square_loss.py`` (uniform grid,
    w_j = dt for j < n-1, w_{n-1} = 0, linear teacher: e_hy = rho, e_y2 = rho + sigma2,
    Gamma = J):

      C_ij   = rho c_i c_j + q0 a_i a_j + (1/alpha) sum_{k<i, l<j} R_ik w_k C_g,kl w_l R_jl
      J      = (I + (1/alpha) R diag(w))^{-1}            (row i by forward substitution)
      C_g,ij = sum_{k,l} J_ik Sigma_kl J_jl,   Sigma_kl = C_kl - (c_k + c_l) e_hy + e_y2
      b_i    = sum_k J_ik (c_k - e_hy / rho)
      c_{i+1} = c_i - w_i (ridge c_i + b_i)
      a_{i+1} = a_i - w_i (ridge a_i + sum_{j<=i} Gamma_ij a_j)
      R_{i+1,j} = R_ij - w_i (ridge R_ij + sum_{k=j+1}^{i} Gamma_ik R_kj),   R_{i+1,i} = 1

    R, J are strictly / unit lower triangular (zeros above), so the restricted sums become
    plain slices.  Returns ``(test_error, train_error)``:
    test_error_i = C_ii - 2 rho c_i + rho + sigma2 and train_error_i = C_g,ii.
    """
    inv_alpha = 1.0 / alpha
    e_hy, e_y2 = rho, rho + sigma2
    w = np.full(n, float(dt))
    w[n - 1] = 0.0
    c, a, b = np.zeros(n), np.ones(n), np.zeros(n)
    R, C, C_g, J = (np.zeros((n, n)) for _ in range(4))

    for i in range(n):
        # ---- weight side: row i of C (needs R rows <= i, C_g rows < i)
        if i:
            B = (R[i, :i] * w[:i]) @ C_g[:i, :i]          # B_l = sum_k R_ik w_k C_g,kl
            s = R[: i + 1, :i] @ (B * w[:i])              # s_j = sum_{l<j} R_jl w_l B_l
        else:
            s = np.zeros(1)
        row = rho * c[i] * c[: i + 1] + q0 * a[i] * a[: i + 1] + inv_alpha * s
        C[i, : i + 1] = row
        C[: i + 1, i] = row

        # ---- sample side: row i of J (= Gamma), C_g and b_i (needs C rows <= i)
        if i:
            J[i, :i] = -inv_alpha * ((R[i, :i] * w[:i]) @ J[:i, :i])
        J[i, i] = 1.0
        Ji = J[i, : i + 1]
        sum_j = Ji.sum()
        sum_jc = Ji @ c[: i + 1]
        E = -e_hy * sum_jc + (e_y2 - e_hy * c[: i + 1]) * sum_j + Ji @ C[: i + 1, : i + 1]
        g = J[: i + 1, : i + 1] @ E                       # C_g,ij = sum_{l<=j} J_jl E_l
        C_g[i, : i + 1] = g
        C_g[: i + 1, i] = g
        b[i] = sum_jc - e_hy / rho * sum_j

        # ---- advance the weight side to row i+1 (explicit step w_i)
        if i + 1 < n:
            h = w[i]
            c[i + 1] = c[i] - h * (ridge * c[i] + b[i])
            a[i + 1] = a[i] - h * (ridge * a[i] + Ji @ a[: i + 1])
            if i:
                R[i + 1, :i] = (1.0 - h * ridge) * R[i, :i] - h * (J[i, 1 : i + 1] @ R[1 : i + 1, :i])
            R[i + 1, i] = 1.0

    test_error = np.diag(C) - 2 * rho * c + rho + sigma2
    train_error = np.diag(C_g).copy()
    return test_error, train_error


# ---------------------------------------------------------------------------------------------
# numba (the package's solver)
# ---------------------------------------------------------------------------------------------
def numba_solve(n):
    import dmft

    return dmft.solve("linear-regression", t_max=(n - 1) * DT, dt=DT, method="gd", scheme="march",
                      alpha=ALPHA, sigma2=SIGMA2, ridge=RIDGE, rho=RHO, q0=Q0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="200,400,800,1600,3200",
                    help="comma-separated numbers of time points N_t")
    ap.add_argument("--numpy-max", type=int, default=800, help="largest N_t for the numpy reference")
    ap.add_argument("--repeat", type=int, default=1, help="runs per size; the best is reported")
    args = ap.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    repeat = max(1, args.repeat)

    if hasattr(os, "getloadavg"):
        log(f"load average (1 min) at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs "
            "(other processes distort the timings, the multithreaded BLAS of numpy most)")
    log("warm-up (numba compile / cache load) at N_t=5 ...")
    t0 = time.perf_counter()
    numba_solve(5)
    numpy_march(ALPHA, SIGMA2, RHO, RIDGE, Q0, DT, 5)
    log(f"  warm-up took {time.perf_counter() - t0:.2f} s")

    numba_seconds, numpy_sizes, numpy_seconds, diffs = [], [], [], []
    for n in sizes:
        best, result = np.inf, None
        for r in range(repeat):
            result = numba_solve(n)
            if result.solver.get("status") != "ok":
                log(f"  warning: N_t={n}: solver status {result.solver.get('status')!r}")
            best = min(best, result.solver["wall_time"])
        numba_seconds.append(best)
        log(f"numba  N_t={n:6d}: {best:10.4f} s")

        if n <= args.numpy_max:
            best_np, ref = np.inf, None
            for r in range(repeat):
                t0 = time.perf_counter()
                ref = numpy_march(ALPHA, SIGMA2, RHO, RIDGE, Q0, DT, n)
                best_np = min(best_np, time.perf_counter() - t0)
            numpy_sizes.append(n)
            numpy_seconds.append(best_np)
            d = max(float(np.max(np.abs(ref[0] - result["test_error"]))),
                    float(np.max(np.abs(ref[1] - result["train_error"]))))
            diffs.append(d)
            log(f"numpy  N_t={n:6d}: {best_np:10.4f} s   (numba/numpy speedup "
                f"{best_np / best:.2f}x, max |diff| {d:.3g})")
        del result

    speedup = {str(n): numpy_seconds[numpy_sizes.index(n)] / numba_seconds[sizes.index(n)]
               for n in numpy_sizes}
    out = {
        "benchmark": "linear-regression causal march",
        "machine": machine_info(),
        "params": {"alpha": ALPHA, "sigma2": SIGMA2, "ridge": RIDGE, "rho": RHO, "q0": Q0,
                   "dt": DT, "method": "gd", "scheme": "march", "repeat": repeat,
                   "fit_min_size": FIT_MIN_SIZE},
        "sizes": sizes,
        "numba_seconds": numba_seconds,
        "numpy_sizes": numpy_sizes,
        "numpy_seconds": numpy_seconds,
        "numba_exponent": fit_exponent(sizes, numba_seconds, FIT_MIN_SIZE),
        "numpy_exponent": fit_exponent(numpy_sizes, numpy_seconds, FIT_MIN_SIZE),
        "speedup": speedup,
        "max_abs_diff": max(diffs) if diffs else None,
    }
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
