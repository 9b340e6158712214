"""Benchmark of the ``pspin`` model (solvers/pspin.py on dmft/history.py).

Parts (``--part uniform|long|published|all``, default all); each case runs in its own
subprocess so that its peak memory (ru_maxrss) is its own:

* ``uniform``: the uniform scheme (p = 3, T = 0, dt = 0.05) against N_t, with the fitted cost
  exponent (expected 3), and ``rates_numpy`` -- a plain-numpy transcription of the numba
  kernel ``solvers.pspin.rates`` (every memory sum a masked matrix-vector product) -- driven by
  the same march in the same run, checked to give the same energy.
* ``long``: the long-time scheme, p = 3, T = 0 quench to t = 1e4 (dt = 0.05, eps = 0.1, Richardson): wall
  time, peak memory, kept history points, e(t) and mu(t) at t = 10, 1e2, 1e3, 1e4, and the
  largest |e_long - e_uniform| over the range where the uniform grid also runs (t <= 60).
  Goal: under 10 minutes and 2 GB, e within 1e-3 of the uniform grid.
* ``published``: the case of the fastest published solver's CPU path (pure p = 3, f = q^3/2,
  T = 0.5/sqrt(2), quench, to t = 1000 sqrt(2); its energies -1.352237/sqrt(2) at t = 100 sqrt(2)
  and -1.367529/sqrt(2) at t = 1000 sqrt(2), 34 minutes on 2 threads) with the long-time
  scheme, dt = 0.05, eps = 0.05 and Richardson extrapolation (dt and dt/2).  Goal: the same
  energies to 5e-4 in under 200 s.

    python benchmarks/bench_pspin.py [--part all] [--sizes 400,800,1600,3200] [--numpy-max 1600]

One JSON document goes to stdout; progress messages go to stderr.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from common import fit_exponent, in_subprocess, log, machine_info

SQRT2 = np.sqrt(2.0)
LONG = {"dt": 0.05, "eps": 0.1, "richardson": True}
UNIFORM_T = 60.0     # the uniform grid (with Richardson: 2401 points) runs to here
PUBLISHED = {"T": 0.5 / SQRT2, "t_max": 1000 * SQRT2, "energies": {100 * SQRT2: -1.352237 / SQRT2,
                                                                   1000 * SQRT2: -1.367529 / SQRT2},
             "published_seconds_to_1000": 34 * 60}


def rates_numpy(r, tau, X, H, VT, Y, params, out, out_diag, out_state, scalars):
    """Plain-numpy transcription of solvers.pspin.rates (same quadrature, same results)."""
    T, c = params[0], params[1:]
    k = np.arange(1, len(c) + 1)
    C, R = X[0, r, : r + 1], X[1, r, : r + 1]
    f1 = (0.5 * k * c * C[:, None] ** (k - 1)).sum(axis=1)
    f2 = (0.5 * k * (k - 1) * c * C[:, None] ** np.maximum(k - 2, 0)).sum(axis=1)
    a = f2 * R
    w = np.diff(tau[: r + 1])
    a_bar, f_bar = 0.5 * (a[:-1] + a[1:]), 0.5 * (f1[:-1] + f1[1:])
    a_slope, f_slope = np.diff(a) / w, np.diff(f1) / w
    below = np.tri(r + 1, r, -1, dtype=bool)        # cell k < column b
    above = ~below                                  # cell k >= column b

    def memory(cells, mask, mean, slope):
        return (np.where(mask, cells[0, : r + 1, :r], 0.0) @ mean
                + np.where(mask, cells[1, : r + 1, :r], 0.0) @ slope)

    below_c = memory(H[:, 0], below, a_bar, a_slope)
    below_r = memory(H[:, 1], below, f_bar, f_slope)
    above_c = memory(VT[:, 0], above, a_bar, a_slope)
    above_r = memory(VT[:, 1], above, a_bar, a_slope)
    mem_c = below_c + above_c + below_r
    mu = T + mem_c[r]
    out[0, : r + 1] = -mu * C + mem_c
    out[1, : r + 1] = -mu * R + above_r
    scalars[0], scalars[1] = mu, -below_r[r]


def _uniform_case(n_t: int, kernel: str) -> dict:
    import dmft
    import solvers.pspin as ps

    if kernel == "numpy":
        ps.rates = rates_numpy
    dmft.solve("pspin", p=3, T=0.0, t_max=0.5, dt=0.05)      # compile / load the cache
    r = dmft.solve("pspin", p=3, T=0.0, t_max=(n_t - 1) * 0.05, dt=0.05)
    return {"seconds": r.solver["wall_time"], "energy_end": float(r["energy"][-1])}


def _long_case() -> dict:
    import dmft

    dmft.solve("pspin", p=3, T=0.0, t_max=1.0, dt=0.1, scheme="long-time")
    lt = dmft.solve("pspin", p=3, T=0.0, t_max=1e4, scheme="long-time", **LONG)
    un = dmft.solve("pspin", p=3, T=0.0, t_max=UNIFORM_T, **{**LONG, "eps": 0.05}, scheme="uniform")
    n = len(un.t)
    log_times = np.unique(np.rint(np.geomspace(1, len(lt.t) - 1, 200)).astype(int))
    at = {}
    for t in (10.0, 100.0, 1000.0, 1e4):
        i = int(np.argmin(np.abs(lt.t - t)))
        at[f"{t:g}"] = {"energy": float(lt["energy"][i]), "mu": float(lt["mu"][i])}
    return {"seconds": lt.solver["wall_time"], "history_points": int(lt.solver["history_points"]),
            "max_history_points": int(lt.solver["max_history_points"]), "at": at,
            "max_abs_energy_diff_vs_uniform": float(np.max(np.abs(lt["energy"][:n] - un["energy"]))),
            "uniform_t_max": UNIFORM_T, "uniform_seconds": un.solver["wall_time"],
            "monotone_energy_on_log_times": bool(np.all(np.diff(lt["energy"][log_times]) < 0)),
            "largest_energy_increase_per_step": float(np.max(np.diff(lt["energy"][1:]))),
            "above_threshold": bool(np.all(lt["energy"] > -2 / np.sqrt(3))),
            "threshold_energy": -2 / np.sqrt(3), "threshold_mu": 2 * np.sqrt(3)}


def _published_case() -> dict:
    import dmft

    dmft.solve("pspin", p=3, T=0.3, t_max=1.0, dt=0.05, scheme="long-time", richardson=True)
    r = dmft.solve("pspin", p=3, T=PUBLISHED["T"], t_max=PUBLISHED["t_max"], dt=0.05, scheme="long-time",
                   eps=0.05, richardson=True)
    rows = []
    for t, ref in PUBLISHED["energies"].items():
        i = int(np.argmin(np.abs(r.t - t)))
        rows.append({"t": float(r.t[i]), "energy": float(r["energy"][i]), "published": ref,
                     "diff": float(r["energy"][i] - ref)})
    return {"seconds": r.solver["wall_time"], "energies": rows,
            "richardson_correction": r.solver["richardson_correction"],
            "max_abs_diff": max(abs(row["diff"]) for row in rows),
            "published_seconds": PUBLISHED["published_seconds_to_1000"]}


CASES = {"uniform": _uniform_case, "long": _long_case, "published": _published_case}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("uniform", "long", "published", "all"), default="all")
    ap.add_argument("--sizes", default="400,800,1600,3200")
    ap.add_argument("--numpy-max", type=int, default=1600)
    args = ap.parse_args(argv)
    out = {"machine": machine_info()}
    if args.part in ("uniform", "all"):
        sizes = [int(s) for s in args.sizes.split(",")]
        rows = []
        for n_t in sizes:
            log(f"uniform N_t={n_t}")
            row = {"n_t": n_t, "numba": in_subprocess("bench_pspin", "uniform", n_t, "numba")}
            if n_t <= args.numpy_max:
                row["numpy"] = in_subprocess("bench_pspin", "uniform", n_t, "numpy")
                row["speedup"] = row["numpy"]["seconds"] / row["numba"]["seconds"]
                row["energy_diff"] = abs(row["numpy"]["energy_end"] - row["numba"]["energy_end"])
            rows.append(row)
        out["uniform"] = {"rows": rows,
                          "numba_exponent": fit_exponent(sizes, [r["numba"]["seconds"] for r in rows], 800),
                          "numpy_exponent": fit_exponent([r["n_t"] for r in rows if "numpy" in r],
                                                         [r["numpy"]["seconds"] for r in rows if "numpy" in r], 800)}
    for part in ("long", "published"):
        if args.part in (part, "all"):
            log(f"{part} ...")
            start = time.perf_counter()
            out[part] = in_subprocess("bench_pspin", part)
            out[part]["process_seconds"] = time.perf_counter() - start
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
