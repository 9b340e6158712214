"""Benchmark of the ``two-layer`` DMFT (solvers/two_layer.py on dmft/history.py).

Parts (``--part uniform|fig4|all``); each case runs in its own subprocess so that its peak
memory (ru_maxrss) is its own:

* ``uniform``: SymmDMFT on the uniform grid (Fig. 4 setting, m = 64, dt = 0.1) against N_t, with
  the fitted cost exponent (expected 3: O(N_t^2) work per step), for the numba kernel and for
  ``rates_numpy`` -- a plain-numpy transcription of ``solvers.two_layer_kernel.rates`` (every
  memory sum a masked matrix-vector product) driven by the same march in the same run, checked
  to give the same test error.
* ``fig4``: the issue's benchmark, the Fig. 4 setting (single index, h = 0.9 q + q^3/6, tau = 0.3,
  alpha = 0.3, mean-field a0 = 1) at m = 64 to t = 12 m = 768 with the long-time scheme at
  (dt, eps) = (0.2, 0.1), against a finer (0.1, 0.05) solve: wall time, peak memory, kept
  history points and the largest test/train-error difference.  Goal: converged to 1e-3 in test
  error in under 5 minutes and 4 GB.

    python benchmarks/bench_two_layer.py [--part all] [--sizes 200,400,800,1600] [--numpy-max 800]

One JSON document goes to stdout; progress messages go to stderr.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from common import fit_exponent, in_subprocess, log, machine_info

FIG4 = dict(m=64, alpha=0.3, tau=0.3, h=(0.9, 0.0, 1 / 6), target="single-index", init="mf", a0=1.0)


def _poly(coef, q):
    """h(q), h'(q), h''(q) for h(q) = sum_j coef[j-1] q^j (arrays)."""
    j = np.arange(1, len(coef) + 1)
    q = np.asarray(q)[..., None]
    return ((coef * q ** j).sum(-1), (j * coef * q ** (j - 1)).sum(-1),
            (j * (j - 1) * coef * q ** np.maximum(j - 2, 0)).sum(-1))


def rates_numpy(r, tau, X, H, VT, Y, P, out, out_diag, out_state, scalars, targets, tl, tw):
    """Plain-numpy transcription of solvers.two_layer_kernel.rates (same quadrature and terms)."""
    from solvers.two_layer_kernel import sigma_rows

    ab, m, K = P[0], P[1], int(P[5])
    counts = P[6:6 + K]
    nh = int(P[6 + K])
    h, ph = P[7 + K:7 + K + nh], P[8 + K + nh:]
    RHO, CA, ng = 2 * K + 2 * K * K, 2 * K + 2 * K * K + 1, K + K * K
    rho, ca = X[RHO, r, : r + 1], X[CA, r, : r + 1]
    a, v = Y[: r + 1, :K], Y[: r + 1, K:]
    MR, MC, D = np.zeros((ng, r + 1)), np.zeros((ng, r + 1)), np.zeros(ng)
    for c in range(K):
        for e in range(-1, K):
            g, cf, rf, ee = (c, c, K + K * K + c, c) if e < 0 else (K + c * K + e, K + c * K + e,
                                                                    2 * K + K * K + c * K + e, e)
            _, h1, h2 = _poly(h, X[cf, r, : r + 1])
            pre = ab / m * a[r, c] * a[:, ee]
            MR[g] = pre * (rho * h1 + ca * h2 * X[rf, r, : r + 1])
            MC[g] = pre * ca * h1
            D[g] = ab / m * a[r, c] * a[r, ee] * _poly(h, X[cf, r, r])[1]
    w = np.diff(tau[: r + 1])
    mr_bar, mr_sl = 0.5 * (MR[:, :-1] + MR[:, 1:]), np.diff(MR, axis=1) / w
    mc_bar, mc_sl = 0.5 * (MC[:, :-1] + MC[:, 1:]), np.diff(MC, axis=1) / w
    below = np.tri(r + 1, r, -1, dtype=bool)
    above = ~below

    def memory(cells, f, mask, mean, slope):
        return np.where(mask, cells[0, f, : r + 1, :r], 0.0) @ mean + np.where(mask, cells[1, f, : r + 1, :r], 0.0) @ slope

    rbar_a = 1.0 + H[0, RHO, r, :r].sum()
    fc, fr = np.zeros((len(targets), r + 1)), np.zeros((len(targets), r + 1))
    for q, (c, d, same, cfield, rfield, first, end) in enumerate(targets):
        fc[q] = ab / m * a[r, c] * _poly(ph, v[r, c])[1] * rbar_a * v[:, d]
        for u in range(first, end):
            g, c_lj, c_jl, r_lj, r_jl = tl[u]
            mem_c = (D[g] * X[c_lj, r, : r + 1] + memory(H, c_jl, below, mr_bar[g], mr_sl[g])
                     + memory(H, r_jl, below, mc_bar[g], mc_sl[g]) + memory(VT, c_lj, above, mr_bar[g], mr_sl[g]))
            mem_r = D[g] * X[r_lj, r, : r + 1] + memory(VT, r_lj, above, mr_bar[g], mr_sl[g])
            fc[q] -= tw[u] * mem_c / m
            fr[q] -= tw[u] * mem_r / m
    nu = np.zeros(K)
    for q, t in enumerate(targets):
        if t[2]:
            nu[t[0]] = fc[q, r]
    out_diag[:] = 0.0
    for q, (c, d, same, cfield, rfield, first, end) in enumerate(targets):
        out[cfield, : r + 1] = fc[q] - nu[c] * X[cfield, r, : r + 1]
        out[rfield, : r + 1] = fr[q] - nu[c] * X[rfield, r, : r + 1]
    for q, (c, d, same, cfield, rfield, first, end) in enumerate(targets):
        if not same:
            out_diag[cfield] = out[cfield, r] + out[K + d * K + c, r]
    for c in range(K):
        phv, dphv, _ = _poly(ph, v[r, c])
        da, dv = ab / m * phv * rbar_a, -nu[c] * v[r, c] + ab / m * a[r, c] * dphv * rbar_a
        for e in range(-1, K):
            ee, cf, rf, wgt, g = ((c, c, K + K * K + c, 1.0, c) if e < 0 else
                                  (e, K + c * K + e, 2 * K + K * K + c * K + e, counts[e] - (e == c), K + c * K + e))
            if wgt <= 0:
                continue
            h0, h1, _ = _poly(h, X[cf, r, : r + 1])
            g0, g1 = a[:, ee] * h0, a[:, ee] * h1 * X[rf, r, : r + 1]
            mem_a = a[r, ee] * h0[r] + sum(
                (0.5 * (x[:-1] + x[1:]) * H[0, f, r, :r] + np.diff(x) / w * H[1, f, r, :r]).sum()
                for x, f in ((g0, RHO), (g1, CA)))
            x, y = MR[g], v[:, ee]
            mem_v = D[g] * v[r, ee] + (w / 6 * (2 * x[:-1] * y[:-1] + x[:-1] * y[1:] + x[1:] * y[:-1]
                                              + 2 * x[1:] * y[1:])).sum()
            da -= wgt * ab / (m * m) * mem_a
            dv -= wgt * mem_v / m
        out_state[c], out_state[K + c] = (da if P[4] > 0.5 else 0.0), dv
    sc, sr = np.empty(r + 1), np.empty(r + 1)
    sigma_rows(r, X, Y, P, sc, sr, r)
    scalars[:4] = (-0.5 * X[CA, r, r], 0.5 * sc[r], rbar_a, ab / m * (a[r] ** 2).max() * h[0])
    scalars[4:4 + K] = nu


def _uniform_case(n_t: int, kernel: str = "numba") -> dict:
    import dmft
    import solvers.two_layer_kernel as tk

    if kernel == "numpy":
        tk.rates = rates_numpy
    dmft.solve("two-layer", **FIG4, t_max=0.5, dt=0.1)          # compile / load the cache
    r = dmft.solve("two-layer", **FIG4, t_max=(n_t - 1) * 0.1, dt=0.1)
    return {"seconds": r.solver["wall_time"], "test_error_end": float(r["test_error"][-1])}


def _long_case(dt: float, eps: float) -> dict:
    import dmft

    dmft.solve("two-layer", **FIG4, t_max=1.0, dt=0.1, scheme="long-time")
    r = dmft.solve("two-layer", **FIG4, t_max=768.0, dt=dt, scheme="long-time", eps=eps)
    grid = np.arange(0, 769, 4.0)
    idx = np.rint(grid / dt).astype(int)
    return {"seconds": r.solver["wall_time"], "max_history_points": int(r.solver["max_history_points"]),
            "status": r.solver["status"], "t": grid.tolist(), "test_error": r["test_error"][idx].tolist(),
            "train_error": r["train_error"][idx].tolist(), "gamma": r["gamma"][idx].tolist()}


CASES = {"uniform": _uniform_case, "long": _long_case}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("uniform", "fig4", "all"), default="all")
    ap.add_argument("--sizes", default="200,400,800,1600")
    ap.add_argument("--numpy-max", type=int, default=800)
    args = ap.parse_args(argv)
    out = {"machine": machine_info()}
    if args.part in ("uniform", "all"):
        sizes = [int(s) for s in args.sizes.split(",")]
        rows = []
        for n in sizes:
            log(f"uniform N_t={n}")
            row = {"n_t": n, "numba": in_subprocess("bench_two_layer", "uniform", n, "numba")}
            if n <= args.numpy_max:
                row["numpy"] = in_subprocess("bench_two_layer", "uniform", n, "numpy")
                row["same_test_error"] = abs(row["numpy"]["test_error_end"] - row["numba"]["test_error_end"]) < 1e-12
            rows.append(row)
        numpy_rows = [r for r in rows if "numpy" in r]
        out["uniform"] = {"rows": rows,
                          "exponent_numba": fit_exponent(sizes, [r["numba"]["seconds"] for r in rows], min_size=400),
                          "exponent_numpy": fit_exponent([r["n_t"] for r in numpy_rows],
                                                         [r["numpy"]["seconds"] for r in numpy_rows], min_size=400)}
    if args.part in ("fig4", "all"):
        log("fig4 (dt 0.2, eps 0.1)")
        fast = in_subprocess("bench_two_layer", "long", 0.2, 0.1)
        log("fig4 reference (dt 0.1, eps 0.05)")
        ref = in_subprocess("bench_two_layer", "long", 0.1, 0.05)
        out["fig4"] = {
            "fast": {k: fast[k] for k in ("seconds", "peak_rss_mb", "max_history_points", "status")},
            "reference": {k: ref[k] for k in ("seconds", "peak_rss_mb", "max_history_points", "status")},
            "max_abs_test_error_diff": float(np.max(np.abs(np.subtract(fast["test_error"], ref["test_error"])))),
            "max_abs_train_error_diff": float(np.max(np.abs(np.subtract(fast["train_error"], ref["train_error"])))),
            "goal": "test error within 1e-3 of the finer solve, < 300 s, < 4096 MB",
            "curves": {"t": fast["t"], "test_error": fast["test_error"], "train_error": fast["train_error"],
                       "gamma": fast["gamma"]}}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
