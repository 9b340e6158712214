"""Causal time-marching driver for closed two-time equations.

Equations whose row t_i depends only on rows t_j, j <= i (after the Ito convention
R(t, t) = 0) are solved in one forward sweep.  The model supplies ``step(i)``, which
completes row i of its state arrays from rows < i (its numba kernels do the O(i^2) work) and
may write one-time values and two-time rows of index i+1 that only ``step(i)`` writes;
``step(i)`` must give the same result when repeated after an interruption.  The driver owns
the loop, the divergence check, progress, checkpoints and resume.

State arrays are indexed by time first: a two-time array has shape (n, n, ...) (its first two
axes have the grid length; "row i" is ``X[i, :i+1, ...]``), any other array is one-time with
shape (n, ...) ("row i" is ``x[i, ...]``, e.g. a vector order parameter v(t_i)).  A row
diverged if it holds a NaN or a value beyond ``dmft.divergence.OVERFLOW``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .divergence import OVERFLOW, bounded
from .run import Run


@dataclass
class MarchOutcome:
    rows: int          # number of complete rows (all finite)
    diverged: bool
    message: str = ""


def _row_finite(state: dict[str, np.ndarray], n: int, i: int) -> bool:
    return all(bounded(x[i, : i + 1] if x.shape[:2] == (n, n) else x[i]) for x in state.values())


def finite_rows(state: dict[str, np.ndarray], n: int) -> int:
    """Number of leading rows of ``state`` that are entirely finite (n if all are)."""
    for i in range(n):
        if not _row_finite(state, n, i):
            return i
    return n


def march(step: Callable[[int], None], state: dict[str, np.ndarray], n: int, run: Run,
          t: np.ndarray | None = None) -> MarchOutcome:
    """Complete rows 0..n-1 of ``state`` by calling ``step(i)`` in order.

    Stops at the first row with a NaN or infinity and reports it (the rows before it are
    kept).  Resumes from ``run``'s checkpoint if there is one.
    """
    start = 0
    restored = run.restore()
    if restored is not None:
        start, saved = restored
        for name, x in state.items():
            x[...] = saved[name]
    i = start
    with run.progress(n, start) as bar:
        try:
            for i in range(start, n):
                step(i)
                if not _row_finite(state, n, i):
                    when = f"t={t[i]:g}" if t is not None else f"row {i}"
                    return MarchOutcome(rows=i, diverged=True,
                                        message=f"diverged at {when} (row {i} of {n}): NaN or overflow (|x| > {OVERFLOW:g}); "
                                                f"rows before it are kept")
                bar.update(1)
                run.checkpoint(i + 1, state)
        except KeyboardInterrupt:
            run.checkpoint(i, state, force=True)
            raise
    return MarchOutcome(rows=n, diverged=False)
