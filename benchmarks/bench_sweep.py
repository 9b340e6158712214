"""Benchmark of `dmft sweep`: 16 independent solves on a local dask cluster of 2 workers against
the same 16 solves run one after the other in this process, in the same run.

    python benchmarks/bench_sweep.py [--points 16] [--workers 2] [--n-t 1601]

Each point is a linear-regression causal march with N_t time points (a single-threaded numba
solve of O(N_t^3)), alpha spread over the points.  The sweep's wall time includes starting the
cluster and the workers' numba cache loads.  One JSON document goes to stdout.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np

from common import log, machine_info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--n-t", type=int, default=1601, help="time points of each solve")
    args = ap.parse_args(argv)
    import dmft

    dt = 0.01
    fixed = {"method": "gd", "dt": dt, "t_max": (args.n_t - 1) * dt}
    alphas = [float(a) for a in np.linspace(0.5, 4.0, args.points)]
    dmft.solve("linear-regression", method="gd", dt=0.1, t_max=0.5)         # compile / load cache
    log(f"serial: {args.points} solves of N_t = {args.n_t} ...")
    start = time.perf_counter()
    for alpha in alphas:
        dmft.solve("linear-regression", alpha=alpha, **fixed)
    serial = time.perf_counter() - start
    log(f"  {serial:.2f} s; sweep on {args.workers} workers ...")
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        rows = dmft.sweep("linear-regression", directory, {"alpha": alphas}, workers=args.workers, **fixed)
        swept = time.perf_counter() - start
    log(f"  {swept:.2f} s")
    print(json.dumps({
        "benchmark": "dmft sweep: local dask cluster vs serial solves",
        "machine": machine_info(),
        "points": args.points, "workers": args.workers, "n_t": args.n_t,
        "serial_seconds": serial, "sweep_seconds": swept, "speedup": serial / swept,
        "sum_of_point_seconds": float(sum(r["wall_time"] for r in rows)),
        "all_ok": all(r["status"] == "ok" for r in rows),
    }, indent=2))


if __name__ == "__main__":
    main()
