"""Time grids.

A grid is an increasing array of times ``t[0] = 0 < t[1] < ... < t[N-1]``.  Solvers see a grid
only through ``t`` (quadrature weights come from ``dmft.quadrature``), so a non-uniform grid (a
learning-rate schedule, a compressed history) can implement the same interface later.  Only the
uniform grid exists now.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class TimeGrid:
    """Interface of a time grid: the times ``t`` (N,) and their number ``n``."""

    t: np.ndarray

    @property
    def n(self) -> int:
        return len(self.t)


@dataclass(frozen=True)
class UniformGrid(TimeGrid):
    """t_i = i * dt for i = 0 .. n_points - 1."""

    dt: float
    n_points: int

    def __post_init__(self):
        if not self.dt > 0:
            raise ValueError(f"dt must be > 0 (got {self.dt})")
        if self.n_points < 2:
            raise ValueError(f"a grid needs at least 2 points (got {self.n_points})")

    @classmethod
    def up_to(cls, t_max: float, dt: float) -> "UniformGrid":
        """Grid from 0 to the last multiple of dt not beyond t_max (within round-off)."""
        return cls(dt=dt, n_points=int(np.floor(t_max / dt + 1e-9)) + 1)

    @property
    def t(self) -> np.ndarray:  # type: ignore[override]
        return self.dt * np.arange(self.n_points)
