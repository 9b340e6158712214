"""Benchmark of the ``two-layer`` DMFT (solvers/two_layer.py on dmft/history.py).

Parts (``--part uniform|fig4|all``); each case runs in its own subprocess so that its peak
memory (ru_maxrss) is its own:

* ``uniform``: SymmDMFT on the uniform grid (Fig. 4 setting, m = 64, dt = 0.1) against N_t, with
  the fitted cost exponent (expected 3: O(N_t^2) work per step).
* ``fig4``: the issue's benchmark, the Fig. 4 setting (single index, h = 0.9 q + q^3/6, tau = 0.3,
  alpha = 0.3, mean-field a0 = 1) at m = 64 to t = 12 m = 768 with the long-time scheme at
  (dt, eps) = (0.2, 0.1), against a finer (0.1, 0.05) solve: wall time, peak memory, kept
  history points and the largest test/train-error difference.  Goal: converged to 1e-3 in test
  error in under 5 minutes and 4 GB.

    python benchmarks/bench_two_layer.py [--part all] [--sizes 200,400,800,1600]

One JSON document goes to stdout; progress messages go to stderr.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np

from common import fit_exponent, log, machine_info

FIG4 = dict(m=64, alpha=0.3, tau=0.3, h=(0.9, 0.0, 1 / 6), target="single-index", init="mf", a0=1.0)


def _uniform_case(n_t: int) -> dict:
    import dmft

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


def _in_subprocess(case: str, *args) -> dict:
    """Run CASES[case](*args) in a fresh interpreter; add its peak resident memory."""
    code = (f"import json, resource, sys; sys.path.insert(0, 'benchmarks'); import bench_two_layer as b; "
            f"out = b.CASES[{case!r}](*{args!r}); "
            f"out['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
            f"print(json.dumps(out))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("uniform", "fig4", "all"), default="all")
    ap.add_argument("--sizes", default="200,400,800,1600")
    args = ap.parse_args(argv)
    out = {"machine": machine_info()}
    if args.part in ("uniform", "all"):
        sizes = [int(s) for s in args.sizes.split(",")]
        rows = []
        for n in sizes:
            log(f"uniform N_t={n}")
            rows.append({"n_t": n, **_in_subprocess("uniform", n)})
        out["uniform"] = {"rows": rows, "exponent": fit_exponent(sizes, [r["seconds"] for r in rows], min_size=400)}
    if args.part in ("fig4", "all"):
        log("fig4 (dt 0.2, eps 0.1)")
        fast = _in_subprocess("long", 0.2, 0.1)
        log("fig4 reference (dt 0.1, eps 0.05)")
        ref = _in_subprocess("long", 0.1, 0.05)
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
