"""Benchmark of ``giant-step``.

* ``kernel``: the state-evolution expectations (solvers.giant_step_se.expectations, numba, one
  pass over the points) against the plain-numpy reference expectations_numpy (chunked BLAS) on
  the same points, z1 + z1z2, ReLU, symmetric pairs, for points N in --points at p = 8 and for
  widths p in --widths at N = 2e5; checks they agree and fits the cost exponents (expected 1 in
  N; between 1 and 2 in p: the p x (r + p) and p x p accumulations dominate at large p).
* ``solve``: dmft.solve of the section-5 case (p = 8, 4 steps, 1e6 points) wall time.
* ``readout`` (only with --readout): the published notebook point, d = 512, p = 1024,
  n = d^1.3 = 3326, 10 repetitions (published 0.3360 +- 0.0063); --slow adds n = d^1.65
  (0.2068 +- 0.0059) and n = d^2 (0.0774 +- 0.0021).

    NUMBA_NUM_THREADS=1 python benchmarks/bench_giant_step.py [--readout [--slow]]

One JSON document on stdout; progress on stderr.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time

import h5py
import numpy as np

from common import fit_exponent, log, machine_info


def _case(p, N):
    from dmft.sampling import gaussian_factor
    from solvers import giant_step_se as se
    from solvers.giant_step import initial_overlaps, second_layer
    from solvers.giant_step_hermite import make_target
    t = make_target("z1+z1z2")
    M, Q = initial_overlaps(p, 2, "symmetric")
    M = M + 0.3
    F, _ = gaussian_factor(se.overlap_matrix(M, Q + 0.5 * np.eye(p)))
    G = np.random.default_rng(0).standard_normal((N, 2 + p))
    return (G, np.full(N, 1.0 / N), F, 2, second_layer(p, "symmetric") / np.sqrt(p), 0, t.coefs, t.degrees)


def _time(fn, args, repeat=3):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, out


def kernel_part(points, widths):
    from solvers import giant_step_se as se
    se.expectations(*_case(2, 10))                      # compile (cached)
    rows = []
    for p, N in [(8, N) for N in points] + [(p, 200000) for p in widths]:
        args = _case(p, N)
        t_fast, fast = _time(se.expectations, args)
        t_ref, ref = _time(se.expectations_numpy, args)
        diff = max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in zip(fast, ref))
        rows.append({"p": p, "points": N, "numba_s": t_fast, "numpy_s": t_ref, "speedup": t_ref / t_fast,
                     "max_abs_diff": diff})
        log(f"p={p} N={N}: numba {t_fast:.3f}s numpy {t_ref:.3f}s diff {diff:.1e}")
    by_n = [r for r in rows if r["p"] == 8 and r["points"] in points]
    by_p = [r for r in rows if r["points"] == 200000 and r["p"] in widths]
    return {"rows": rows,
            "exponent_points": fit_exponent([r["points"] for r in by_n], [r["numba_s"] for r in by_n]),
            "exponent_width": fit_exponent([r["p"] for r in by_p], [r["numba_s"] for r in by_p]),
            "agree": all(r["max_abs_diff"] < 1e-10 for r in rows)}


def solve_part():
    import dmft
    start = time.perf_counter()
    r = dmft.solve("giant-step", p=8, steps=4, samples=1_000_000)
    return {"wall_s": time.perf_counter() - start, "risk": r["risk"].tolist(),
            "overlap_2": r["overlap_2"].tolist()}


def readout_part(slow):
    import dmft
    published = {1.3: (0.3360, 0.0063), 1.65: (0.2068, 0.0059), 2.0: (0.0774, 0.0021)}
    exps = (1.3, 1.65, 2.0) if slow else (1.3,)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for e in exps:
            start = time.perf_counter()
            (path,) = dmft.tool("giant-step", "ridge-readout", tmp, exponents=(e,), reps=10)
            with h5py.File(path) as f:
                mean, std, n = float(f["test_mean"][0, 0]), float(f["test_std"][0, 0]), int(f["n"][0])
            out.append({"exponent": e, "n": n, "test_error": mean, "std": std, "published": published[e],
                        "wall_s": time.perf_counter() - start})
            log(f"n = d^{e} = {n}: {mean:.4f} +- {std:.4f} (published {published[e]})")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", default="50000,100000,200000,400000,800000")
    ap.add_argument("--widths", default="4,8,16,32")
    ap.add_argument("--readout", action="store_true")
    ap.add_argument("--slow", action="store_true")
    a = ap.parse_args()
    result = {"benchmark": "giant-step", "machine": machine_info(),
              "kernel": kernel_part([int(x) for x in a.points.split(",")], [int(x) for x in a.widths.split(",")]),
              "solve": solve_part()}
    if a.readout:
        result["readout"] = readout_part(a.slow)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
