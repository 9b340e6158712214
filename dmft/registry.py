"""Model and simulator discovery through entry points.

A package registers a model class under ``[options.entry_points] dmft.models`` and, optionally,
a simulator of the finite system under ``dmft.simulators`` with the same name.  The engine
knows no model by name.
"""
from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from .model import Model, ParameterError

MODELS = "dmft.models"
SIMULATORS = "dmft.simulators"


@lru_cache(maxsize=None)
def _group(group: str) -> dict:
    return {ep.name: ep for ep in entry_points(group=group)}


def model_names() -> list[str]:
    return sorted(_group(MODELS))


def get_model(name: str) -> Model:
    eps = _group(MODELS)
    if name not in eps:
        raise ParameterError(f"unknown model {name!r} (available: {', '.join(sorted(eps)) or 'none'})")
    return eps[name].load()()


def get_simulator(name: str):
    get_model(name)  # unknown models are reported as such
    eps = _group(SIMULATORS)
    if name not in eps:
        raise ParameterError(f"model {name!r} has no simulator of the finite system "
                             f"(models with one: {', '.join(sorted(eps)) or 'none'})")
    return eps[name].load()()
