"""Fixed-point driver for DMFT equations that must be iterated.

Iterates x <- theta * x_old + (1 - theta) * F(x_old) on a dict of arrays (the first sweep
is not damped), with the residual r_k = sum over arrays of max |F(x) - x|.  Stops when
r_k < tol (converged) or after ``max_iter`` sweeps; an iterate with a NaN or a value beyond
``dmft.divergence.OVERFLOW`` stops it as diverged and keeps the last finite iterate.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .divergence import OVERFLOW, bounded
from .run import Run

Iterate = dict[str, np.ndarray]


@dataclass
class FixedPointOutcome:
    x: Iterate
    iterations: int
    residuals: list[float] = field(default_factory=list)
    converged: bool = False
    diverged: bool = False
    message: str = ""


def residual(new: Iterate, old: Iterate) -> float:
    return float(sum(np.max(np.abs(new[k] - old[k]), initial=0.0) for k in old))


def iterate(update: Callable[[Iterate], Iterate], x0: Iterate, run: Run, *, damping: float = 0.0,
            tol: float = 1e-12, max_iter: int = 1000) -> FixedPointOutcome:
    """Solve x = update(x) from ``x0`` by damped iteration (see module docstring)."""
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1) (got {damping})")
    x = {k: np.array(v, dtype=float) for k, v in x0.items()}
    residuals: list[float] = []
    start = 0
    restored = run.restore()
    if restored is not None:
        start, saved = restored
        residuals = list(saved.pop("_residuals", []))
        x = {k: saved[k] for k in x}
    with run.progress(max_iter, start, unit="sweep") as bar:
        for k in range(start, max_iter):
            try:
                new = update(x)
            except KeyboardInterrupt:
                run.checkpoint(k, {**x, "_residuals": np.array(residuals)}, force=True)
                raise
            if not all(bounded(v) for v in new.values()):
                return FixedPointOutcome(x, k, residuals, diverged=True,
                                         message=f"diverged at sweep {k + 1}: NaN or overflow "
                                                 f"(|x| > {OVERFLOW:g}); the last finite iterate is kept")
            r = residual(new, x)
            residuals.append(r)
            theta = damping if k > 0 else 0.0
            x = {name: theta * x[name] + (1.0 - theta) * new[name] for name in x}
            bar.update(1)
            bar.set_postfix(residual=f"{r:.2e}")
            if r < tol:
                return FixedPointOutcome(x, k + 1, residuals, converged=True)
            run.checkpoint(k + 1, {**x, "_residuals": np.array(residuals)})
    return FixedPointOutcome(x, max_iter, residuals, converged=False,
                             message=f"not converged after {max_iter} sweeps "
                                     f"(residual {residuals[-1]:.3e} > tol {tol:g})")
