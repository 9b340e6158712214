"""Speed of the kernel model: the Laplace DMFT (cost per output time independent of t, linear in
the number of times) against a plain per-time reference (one time at a time, no vectorisation),
and the simulator's O(n^3) eigendecomposition.  Prints JSON on stdout.

    python benchmarks/bench_kernel.py
"""
from __future__ import annotations

import json
import time

import numpy as np

from common import fit_exponent, log, machine_info
from solvers import kernel_laplace
from solvers.kernel_curves import groups
from solvers.kernel_spectrum import Kernel, Spectrum
from validation.kernel import gradient_flow


def _time(f):
    start = time.perf_counter()
    out = f()
    return time.perf_counter() - start, out


def main():
    spectrum = Spectrum(100, Kernel())
    g = groups(spectrum, 1000, [1.0, 1.0, 1.0], 0.1)
    laplace = []
    for points in (25, 50, 100, 200):
        t = np.geomspace(1, 1e7, points)
        fast, a = _time(lambda: kernel_laplace.curves(g, t))
        slow, b = _time(lambda: [kernel_laplace.curves(g, t[i:i + 1]) for i in range(len(t))])
        diff = max(abs(a["test_error"][i] - b[i]["test_error"][0]) for i in range(len(t)))
        laplace.append({"points": points, "vectorised_s": fast, "per_time_s": slow, "max_diff": diff})
        log(f"laplace points={points}: {fast:.3f} s vectorised, {slow:.3f} s per time (diff {diff:.1e})")
    sim = []
    t = np.concatenate([[0], np.geomspace(1, 1e7, 36)])
    xi = spectrum.xi[1:4]
    for n in (250, 500, 1000, 2000):
        secs, _ = _time(lambda: gradient_flow(Kernel(), xi, (1.0, 1.0, 1.0), 0.1, 100, n, 2000, t,
                                              np.random.default_rng(0)))
        sim.append({"n": n, "seconds": secs})
        log(f"simulation n={n}: {secs:.2f} s")
    print(json.dumps({"benchmark": "kernel", "machine": machine_info(), "laplace": laplace,
                      "laplace_exponent_in_points": fit_exponent([r["points"] for r in laplace],
                                                                 [r["vectorised_s"] for r in laplace]),
                      "simulation": sim,
                      "simulation_exponent_in_n": fit_exponent([r["n"] for r in sim], [r["seconds"] for r in sim], 500)},
                     indent=1))


if __name__ == "__main__":
    main()
