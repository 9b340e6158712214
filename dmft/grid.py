"""Time grids.

A grid is an increasing array of times ``t[0] = 0 < t[1] < ... < t[N-1]``.  Solvers see a grid
only through ``t`` (quadrature weights come from ``dmft.quadrature``), so a non-uniform grid (a
learning-rate schedule, a compressed history) can implement the same interface later.  Only the
uniform grid exists now.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import ParameterError


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

    @staticmethod
    def check(t_max: float, dt: float, max_points: int | None = None) -> int:
        """Number of points of ``up_to(t_max, dt)``; ParameterError if dt > t_max or the grid
        has more than ``max_points`` points."""
        if dt > t_max:
            raise ParameterError(f"parameter 'dt' must be <= t_max = {t_max:g} (got {dt:g})")
        n = int(np.floor(t_max / dt + 1e-9)) + 1
        if max_points is not None and n > max_points:
            raise ParameterError(f"t_max/dt gives {n} time points; at most {max_points} are allowed "
                                 f"(memory): raise 'dt' or lower 't_max'")
        return n

    @classmethod
    def up_to(cls, t_max: float, dt: float) -> "UniformGrid":
        """Grid from 0 to the last multiple of dt not beyond t_max (within round-off)."""
        return cls(dt=dt, n_points=cls.check(t_max, dt))

    @property
    def t(self) -> np.ndarray:  # type: ignore[override]
        return self.dt * np.arange(self.n_points)
