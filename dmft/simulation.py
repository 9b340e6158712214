"""Simulators of the finite system a DMFT describes (the protocol; implementations live in
validation/ and register in the ``dmft.simulators`` entry-point group).

A simulator has the model's ``name`` and ``simulate(params, d, seeds, seed, run) -> Result``.
It runs ``seeds`` independent systems of size ``d`` and returns, per observable, the mean over
seeds in ``observables[name]`` and its standard error (sample std / sqrt(seeds)) in
``observables[name + '_stderr']``; ``simulation`` holds d, seeds and the per-seed values.
Every random draw comes from ``numpy.random.default_rng`` seeded by
``SeedSequence([seed, d, k])`` for seed k = 0..seeds-1, so runs are reproducible.
"""
from __future__ import annotations

from typing import Callable, ClassVar

import numpy as np

from .model import Param
from .result import Result

SIMULATION_PARAMS = (
    Param("d", int, 500, "dimension of the simulated system", low=2),
    Param("seeds", int, 8, "number of independent realisations (for the standard error)", low=2),
    Param("seed", int, 0, "base seed of the random generator", low=0),
)


class Simulator:
    name: ClassVar[str]

    def simulate(self, params, d: int, seeds: int, seed: int, run):  # pragma: no cover - interface
        raise NotImplementedError


def generator(seed: int, d: int, k: int) -> np.random.Generator:
    """The generator of realisation k of a size-d simulation with base ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([seed, d, k]))


def mean_and_stderr(per_seed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """observables[name] = mean over axis 0, observables[name_stderr] = std(ddof=1)/sqrt(S)."""
    out = {}
    for name, values in per_seed.items():
        values = np.asarray(values, dtype=float)
        out[name] = values.mean(axis=0)
        out[name + "_stderr"] = values.std(axis=0, ddof=1) / np.sqrt(values.shape[0])
    return out


def run_realisations(name: str, params, t: np.ndarray, d: int, seeds: int, seed: int, run,
                     realise: Callable[[np.random.Generator], dict[str, np.ndarray]],
                     method: str, **attrs) -> Result:
    """Run ``realise(generator(seed, d, k))`` for k = 0..seeds-1 (each returns observables on
    ``t``) and collect them: mean and standard error per observable, per-seed values and the
    solver record.  ``attrs`` (e.g. the sample count n) go to the ``simulation`` group."""
    per_seed: dict[str, np.ndarray] = {}
    with run.progress(seeds, unit="seed") as bar:
        for k in range(seeds):
            for key, values in realise(generator(seed, d, k)).items():
                per_seed.setdefault(key, np.empty((seeds, len(t))))[k] = values
            bar.update(1)
    solver = {"method": method, "iterations": len(t) - 1, "residual": 0.0, "converged": True,
              "status": "ok"}
    return Result(name, params, t, observables=mean_and_stderr(per_seed), solver=solver,
                  simulation={"d": d, **attrs, "seeds": seeds, "per_seed": per_seed})
