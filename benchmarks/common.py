"""Helpers shared by the benchmark scripts: stderr logging, machine description, exponent fits."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import numpy as np


def log(msg: str) -> None:
    """Progress message on stderr (stdout carries the JSON result)."""
    print(msg, file=sys.stderr, flush=True)


def loadavg():
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def fit_exponent(sizes, seconds, min_size=0):
    """Least-squares slope of log(seconds) against log(size) over sizes >= min_size (None if < 2)."""
    pts = [(s, t) for s, t in zip(sizes, seconds) if s >= min_size and t > 0]
    if len(pts) < 2:
        return None
    slope, _ = np.polyfit(np.log([p[0] for p in pts]), np.log([p[1] for p in pts]), 1)
    return float(slope)


def _threading_layer():
    import numba

    try:
        return numba.threading_layer()
    except ValueError:          # no parallel kernel has run yet
        return None


def machine_info():
    """CPU count, versions, thread settings and load average, for the JSON record."""
    import numba

    return {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "numba_threads": numba.get_num_threads(),
        "numba_threading_layer": _threading_layer(),
        "blas_threads_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                        "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
                             if k in os.environ},
        "loadavg": loadavg(),
    }


def in_subprocess(module: str, case: str, *args) -> dict:
    """Run ``module.CASES[case](*args)`` (a script in benchmarks/) in a fresh interpreter, so that
    its peak resident memory (added as ``peak_rss_mb``) is its own; returns its JSON result."""
    code = (f"import json, resource, sys; sys.path.insert(0, 'benchmarks'); import {module} as b; "
            f"out = b.CASES[{case!r}](*{args!r}); "
            f"out['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
            f"print(json.dumps(out))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])
