"""Benchmark of the ``two-layer`` finite-size simulators (validation/two_layer.py).

* ``gradient``: one full-batch gradient of the degree-2 Gaussian model (h = z/10 + z^2/2, m = 4,
  n = 1.5 d) by the fast path (symmetrised slot-first tensor, one BLAS product W @ S) against a
  plain-numpy reference of the same computation (einsum on the unsymmetrised tensors,
  grad <J, w^2> = (J + J^T) w), checked to agree, at several d; the fitted cost exponent in d
  (expected 3: n d^2 m with n ~ d).
* ``setting1``: seconds per realisation of Setting 1 (§7.2: m = 4, d = 100, n = 150, tau = 1,
  a(0) = (1, 1, -1, -1), C13 = C24 = 1, t_max = 10, eta_GD = 0.1).
* ``fig4_sgd``: seconds per realisation of SGD at the Fig. 4 parameters (m = 16, d = 200,
  alpha = 0.3, h = 0.9 q + q^3/6, single index, tau = 0.3, a0 = 1, lr = 0.1, batch 100, t_max = 20).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_two_layer_sim.py [--sizes 50,100,200] [--seeds 4]

One JSON document goes to stdout; progress messages go to stderr.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from common import fit_exponent, log, machine_info
from dmft.run import Run
from validation.two_layer import TwoLayerSimulator
from validation.two_layer_gaussian import GaussianModel

H = np.array([0.1, 0.5])


def reference_gradients(J1, J2, c, y, a, W):
    """Plain numpy: G = c1 J1 w + c2 w^T J2 w, grad G = c1 J1 + c2 (J2 + J2^T) w, per neuron."""
    n, m = len(y), len(a)
    G = c[0] * J1 @ W.T + c[1] * np.einsum("nij,mi,mj->nm", J2, W, W)
    delta = y - G @ a / m
    grad_G = (c[0] * J1[None, :, :] + c[1] * (np.einsum("nij,mj->mni", J2, W)
                                              + np.einsum("nij,mi->mnj", J2, W)))
    pull = np.einsum("n,mnd->md", delta, grad_G)
    return delta, -(G.T @ delta) / (n * m), -(a[:, None] * pull) / (n * m)


def best_of(f, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def gradient_part(sizes, m=4):
    rows = []
    for d in sizes:
        n = int(round(1.5 * d))
        rng = np.random.default_rng(d)
        J1, J2 = rng.standard_normal((n, d)), rng.standard_normal((n, d, d))
        y = rng.standard_normal(n)
        model = GaussianModel({1: J1, 2: J2}, np.sqrt(H), y)
        a, W = rng.standard_normal(m), rng.standard_normal((m, d))
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        fast, ref = model.gradients(a, W), reference_gradients(J1, J2, np.sqrt(H), y, a, W)
        err = max(float(np.max(np.abs(x - r)) / np.max(np.abs(r))) for x, r in zip(fast, ref))
        t_fast = best_of(lambda: model.gradients(a, W), 20)
        t_ref = best_of(lambda: reference_gradients(J1, J2, np.sqrt(H), y, a, W), 5)
        rows.append({"d": d, "n": n, "fast_s": t_fast, "numpy_reference_s": t_ref,
                     "speedup": t_ref / t_fast, "max_rel_diff": err})
        log(f"gradient d={d}: fast {t_fast * 1e3:.2f} ms, reference {t_ref * 1e3:.2f} ms, diff {err:.1e}")
    sizes_ = [r["d"] for r in rows]
    return {"rows": rows, "fast_exponent_d": fit_exponent(sizes_, [r["fast_s"] for r in rows]),
            "expected_exponent_d": 3}


def per_realisation(p, d, seeds):
    t0 = time.perf_counter()
    r = TwoLayerSimulator().simulate(p, d, seeds, 0, Run("bench"))
    seconds = (time.perf_counter() - t0) / seeds
    final = {k: float(r[k][-1]) for k in ("train_error", "test_error", "a")}
    return {"seconds_per_realisation": seconds, "steps": r.simulation["steps"], "seeds": seeds,
            "final_means": final}


COMMON = dict(alpha=None, alpha_bar=None, phi=None, gamma0=1.0, a0=1.0, a_init=None, c_init=None,
              train_a=True, init="mf", batch=100)
SETTING1 = dict(COMMON, m=4, alpha_bar=1.5, tau=1.0, h=(0.1, 0.5), target="noise",
                a_init=(1.0, 1.0, -1.0, -1.0), c_init=(1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1),
                t_max=10.0, dt=0.1, simulation="gaussian", sim_step=0.1)
FIG4 = dict(COMMON, m=16, alpha=0.3, tau=0.3, h=(0.9, 0.0, 1 / 6), target="single-index",
            t_max=20.0, dt=0.5, simulation="sgd", sim_step=0.1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50,100,200")
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    out = {"machine": machine_info(),
           "gradient": gradient_part([int(s) for s in args.sizes.split(",")])}
    log("setting 1 ...")
    out["setting1"] = per_realisation(SETTING1, 100, args.seeds)
    log("fig. 4 SGD ...")
    out["fig4_sgd"] = per_realisation(FIG4, 200, args.seeds)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
