"""The result of a solve or a simulation: a time grid, observables, order parameters,
the solver record and provenance.  ``Result.save`` writes the HDF5 schema of docs/hdf5.md;
``dmft.load`` reads it back into the same object."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Result:
    """Trajectory of one model.

    ``observables[name]`` has shape (N,); a Monte Carlo or simulated mean ``name`` comes with
    its standard error ``name + '_stderr'``.  ``order[name]`` has shape (N,) or (N, N).
    ``solver`` holds method, dt, iterations, residual, converged, wall_time and any
    model-specific diagnostics.  ``simulation`` (simulations only) holds d, seeds and the
    per-seed values ``per_seed[name]`` of shape (seeds, N).  ``history`` (compressed-history
    solvers only) holds the kept times ``tau`` (L,) and two-time arrays on them (L, L).
    """

    model: str
    params: dict[str, Any]
    t: np.ndarray
    observables: dict[str, np.ndarray] = field(default_factory=dict)
    order: dict[str, np.ndarray] = field(default_factory=dict)
    solver: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    simulation: dict[str, Any] | None = None
    history: dict[str, np.ndarray] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        """Observable or order parameter by name."""
        if name in self.observables:
            return self.observables[name]
        if name in self.order:
            return self.order[name]
        raise KeyError(f"{name!r} is neither an observable nor an order parameter of this "
                       f"result (observables: {', '.join(self.observables)})")

    def stderr(self, name: str) -> np.ndarray | None:
        """Standard error of an observable, or None for a deterministic one."""
        return self.observables.get(name + "_stderr")

    def observable_names(self) -> list[str]:
        """Observables without their ``_stderr`` companions."""
        return [k for k in self.observables if not k.endswith("_stderr")]

    def at(self, time: float) -> dict[str, float]:
        """Observables at the grid point closest to ``time``."""
        i = int(np.argmin(np.abs(self.t - time)))
        return {k: float(v[i]) for k, v in self.observables.items()}

    def save(self, path, *, force: bool = False) -> None:
        from .store import write_result
        write_result(path, self, force=force)

    def __repr__(self) -> str:
        kind = "simulation" if self.simulation else "solve"
        return (f"<Result {kind} of {self.model!r}: {len(self.t)} times up to t={self.t[-1]:g}, "
                f"observables {self.observable_names()}, order {list(self.order)}>")
