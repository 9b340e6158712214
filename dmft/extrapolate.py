"""Richardson extrapolation in the time step.

A scheme of order p at steps dt and dt/2 gives X_dt = X + a dt^p + ... and X_dt/2 = X + a (dt/2)^p + ...,
so  X_R = X_dt/2 + (X_dt/2 - X_dt) / (2^p - 1)  has error O(dt^(p+1)), and
|X_dt/2 - X_dt| / (2^p - 1) estimates the error of X_dt/2.
"""
from __future__ import annotations

import numpy as np

from .result import Result


def richardson(coarse: Result, fine: Result, order: int = 2) -> Result:
    """Extrapolate observables and grid-shaped order parameters onto the coarse grid.

    ``fine`` must have twice the steps of ``coarse`` on the same interval.  The solver record
    is the fine one plus ``richardson_order`` and ``richardson_correction`` (the largest
    |X_dt/2 - X_dt| / (2^p - 1) over observables: the estimated error of the dt/2 solution);
    a compressed ``history`` is the fine solve's.  A diverged solve is returned as it is.
    """
    for r in (coarse, fine):
        if not r.solver.get("converged", True):
            return r
    n = len(coarse.t)
    if len(fine.t) < 2 * n - 1 or not np.allclose(fine.t[: 2 * n - 1: 2], coarse.t, rtol=1e-12, atol=1e-12):
        raise ValueError("the fine solve must have half the step of the coarse one on the same grid")
    factor = 1.0 / (2 ** order - 1)

    def combine(c, f):
        f = np.asarray(f)[tuple(slice(0, 2 * n - 1, 2) for _ in range(np.ndim(c)))]
        return f + factor * (f - c), factor * np.abs(f - c)

    observables, correction = {}, 0.0
    for name, values in coarse.observables.items():
        observables[name], change = combine(values, fine.observables[name])
        if np.any(np.isfinite(change)):
            correction = max(correction, float(np.nanmax(change)))
    order_params = {name: combine(values, fine.order[name])[0] for name, values in coarse.order.items()}
    solver = {**fine.solver, "method": fine.solver.get("method", "") + "+richardson",
              "dt": coarse.solver.get("dt", ""), "richardson_order": order,
              "richardson_correction": correction}
    return Result(coarse.model, coarse.params, coarse.t, observables=observables, order=order_params,
                  solver=solver, seed=coarse.seed, history=fine.history)
