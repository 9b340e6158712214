"""The Python API.  Every command-line verb is one of these functions first:

    dmft.solve("linear-regression", alpha=2, t_max=10)        -> Result
    dmft.simulate("linear-regression", d=500, seeds=8)        -> Result (mean and stderr)
    dmft.validate("linear-regression", sizes=(250, 500, 1000), seeds=8, report="rep")
    dmft.load("out.h5")                                         -> Result
    dmft.models(), dmft.params("linear-regression")
"""
from __future__ import annotations

import datetime as _dt
import sys
import time
from typing import Any

from . import store
from ._version import __version__
from .config import read_config
from .model import Param, ParameterError, resolve
from .registry import get_model, get_simulator, model_names
from .result import Result
from .run import Run
from .simulation import SIMULATION_PARAMS

load = store.load


def models() -> list[str]:
    """Names of the installed models."""
    return model_names()


def params(model: str) -> tuple[Param, ...]:
    """The declared parameters of a model."""
    return get_model(model).parameters


def _merge_config(model: str, config, given: dict[str, Any]) -> dict[str, Any]:
    if config is None:
        return dict(given)
    config_model, config_params = read_config(config)
    if config_model is not None and config_model != model:
        raise ParameterError(f"config {config} is for model {config_model!r}, not {model!r}")
    return {**config_params, **given}


def check_params(model: str, config=None, **given) -> dict[str, Any]:
    """Resolved and checked parameters (defaults filled in); raises ParameterError."""
    m = get_model(model)
    p = resolve(m.parameters, _merge_config(model, config, given), f"model {model!r}")
    m.check(p)
    return p


def _provenance(command: str | None) -> dict[str, Any]:
    return {"dmft_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": command if command is not None else "python: " + " ".join(sys.argv)}


def solve(model: str, config=None, *, progress: bool = False, checkpoint=None,
          checkpoint_every: float = 60.0, resume: bool = False, command: str | None = None,
          **given) -> Result:
    """Solve the DMFT of ``model`` with parameters ``given`` (and/or a TOML ``config``).

    ``checkpoint``: path of a checkpoint file written every ``checkpoint_every`` seconds;
    ``resume=True`` continues from it.  Divergence does not raise: the result holds the rows
    computed before it and ``result.solver['status']`` says what happened.
    """
    p = check_params(model, config, **given)
    m = get_model(model)
    run = Run(store.fingerprint(model, p), progress=progress, checkpoint_path=checkpoint,
              checkpoint_every=checkpoint_every, resume=resume, description=model)
    start = time.perf_counter()
    result = m.solve(p, run)
    result.solver["wall_time"] = time.perf_counter() - start
    result.solver.setdefault("dt", p.get("dt", ""))
    if run.resumed_from:
        result.solver["resumed_from"] = run.resumed_from
    result.provenance = _provenance(command)
    return result


def simulate(model: str, config=None, *, progress: bool = False, command: str | None = None,
             **given) -> Result:
    """Direct simulation of the finite system: ``d``, ``seeds``, ``seed`` plus model parameters."""
    sim_names = {q.name for q in SIMULATION_PARAMS}
    sim = resolve(SIMULATION_PARAMS, {k: v for k, v in given.items() if k in sim_names}, "simulate")
    p = check_params(model, config, **{k: v for k, v in given.items() if k not in sim_names})
    simulator = get_simulator(model)
    run = Run(store.fingerprint(model, {**p, **sim}), progress=progress, description=f"{model} d={sim['d']}")
    start = time.perf_counter()
    result = simulator.simulate(p, sim["d"], sim["seeds"], sim["seed"], run)
    result.solver["wall_time"] = time.perf_counter() - start
    result.seed = sim["seed"]
    result.provenance = _provenance(command)
    return result


def validate(model: str, config=None, *, sizes=(250, 500, 1000), seeds: int = 8, seed: int = 0,
             report=None, threshold: float = 4.0, progress: bool = False, **given):
    """Solve, simulate at each size, compare; write ``report``/report.html and summary.json.

    Returns a :class:`validation.compare.Validation` (``.passed``, ``.summary``).
    """
    from validation.compare import compare
    from validation.report import write_report

    sizes = tuple(int(d) for d in sizes)
    resolve(SIMULATION_PARAMS, {"seeds": seeds, "seed": seed, **({"d": min(sizes)} if sizes else {})}, "validate")
    if not sizes:
        raise ParameterError("validate needs at least one size (--sizes)")
    if not threshold > 0:
        raise ParameterError(f"threshold must be > 0 (got {threshold})")
    get_simulator(model)
    theory = solve(model, config, progress=progress, **given)
    sims = [simulate(model, config, progress=progress, d=d, seeds=seeds, seed=seed, **given) for d in sizes]
    outcome = compare(theory, sims, threshold=threshold)
    if report is not None:
        write_report(report, outcome)
    return outcome
