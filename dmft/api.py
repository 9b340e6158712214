"""The Python API.  Every command-line verb is one of these functions first:

    dmft.solve("linear-regression", alpha=2, t_max=10)        -> Result
    dmft.simulate("linear-regression", d=500, seeds=8)        -> Result (mean and stderr)
    dmft.validate("linear-regression", sizes=(250, 500, 1000), seeds=16, report="rep")
    dmft.load("out.h5")                                         -> Result
    dmft.show("out.h5") -> str;  dmft.plot("out.h5", "fig.png", logt=False)
    dmft.tool("linear-network", "phase-diagram", "dir", width=1000)  -> written paths
    dmft.sweep("linear-regression", "dir", {"alpha": [0.5, 1, 2]}, workers=2)  -> index rows
    dmft.models(), dmft.params("linear-regression")
"""
from __future__ import annotations

import datetime as _dt
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

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
    resumed = max([run.resumed_from] + [stage.resumed_from for stage in run.stages])
    if resumed:
        result.solver["resumed_from"] = resumed
    result.provenance = _provenance(command)
    return result


def simulate(model: str, config=None, *, progress: bool = False, command: str | None = None,
             **given) -> Result:
    """Direct simulation of the finite system: ``d``, ``seeds``, ``seed`` plus model parameters."""
    m = get_model(model)
    p = resolve(SIMULATION_PARAMS + m.parameters, _merge_config(model, config, given),
                f"simulations of {model!r}")
    sim = {q.name: p.pop(q.name) for q in SIMULATION_PARAMS}
    m.check(p)
    simulator = get_simulator(model)
    run = Run(store.fingerprint(model, {**p, **sim}), progress=progress, description=f"{model} d={sim['d']}")
    start = time.perf_counter()
    result = simulator.simulate(p, sim["d"], sim["seeds"], sim["seed"], run)
    result.solver["wall_time"] = time.perf_counter() - start
    result.seed = sim["seed"]
    result.provenance = _provenance(command)
    return result


def validate(model: str, config=None, *, sizes=(250, 500, 1000), seeds: int = 16, seed: int = 0,
             report=None, threshold: float = 4.0, progress: bool = False, **given):
    """Solve, simulate at each size, compare; write ``report``/report.html and summary.json.

    Returns a :class:`validation.compare.Validation` (``.passed``, ``.summary``).
    """
    from validation.compare import compare
    from validation.report import write_report

    sizes = tuple(int(d) for d in sizes)
    if not sizes:
        raise ParameterError("validate needs at least one size (--sizes)")
    for d in sizes:
        resolve(SIMULATION_PARAMS, {"d": d, "seeds": seeds, "seed": seed}, "validate")
    if not threshold > 0:
        raise ParameterError(f"threshold must be > 0 (got {threshold})")
    get_simulator(model)
    if any(q.name == "d" for q in get_model(model).parameters):
        # the theory itself is at finite d (e.g. kernel): --sizes sets d for theory and simulation
        if len(sizes) != 1:
            raise ParameterError(f"model {model!r} has a parameter 'd' (its theory is at finite d): "
                                 f"validate one size at a time (--sizes D sets d for both)")
        given = {**given, "d": sizes[0]}
    theory = solve(model, config, progress=progress, **given)
    sims = [simulate(model, config, progress=progress, **{**given, "d": d, "seeds": seeds, "seed": seed})
            for d in sizes]
    outcome = compare(theory, sims, threshold=threshold)
    if report is not None:
        write_report(report, outcome)
    return outcome


def tool(model: str, name: str, directory, config=None, *, command: str | None = None, **given) -> list:
    """Run the model-specific tool ``name`` (see ``Model.tools``), writing into ``directory``."""
    m = get_model(model)
    if name not in m.tools:
        raise ParameterError(f"model {model!r} has no tool {name!r} "
                             f"(tools: {', '.join(m.tools) or 'none'})")
    t = m.tools[name]
    p = resolve(t.parameters, _merge_config(model, config, given), f"tool {name!r} of {model!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return t.run(p, directory, _provenance(command)["command"])


def sweep(model: str, directory, grid: dict[str, Any], *, task: str = "solve", config=None,
          workers: int | None = None, scheduler: str | None = None, resume: bool = False,
          progress: bool = False, options: dict | None = None, **fixed) -> list[dict]:
    """Run ``model`` at every point of ``grid`` ({key: [values]}) with the ``fixed`` parameters on
    dask.distributed; each point writes ``directory``/<point>.h5 and the rows of
    ``directory``/index.csv are returned (see dmft.sweeps)."""
    from .sweeps import sweep as _sweep
    return _sweep(model, directory, grid, fixed=fixed, task=task, config=config, workers=workers,
                  scheduler=scheduler, resume=resume, progress=progress, options=options)


def _as_result(result_or_path) -> Result:
    return result_or_path if isinstance(result_or_path, Result) else load(result_or_path)


def show(result_or_path, times: int = 6) -> str:
    """Text summary: provenance, parameters, solver record, observables at ``times`` times."""
    r = _as_result(result_or_path)
    prov = r.provenance
    kind = f"simulation d={r.simulation.get('d')} seeds={r.simulation.get('seeds')}" if r.simulation else "solve"
    lines = [f"{r.model} ({kind}); dmft {prov.get('dmft_version')}, created {prov.get('created')}"
             + (f", seed {r.seed}" if r.seed is not None else "")]
    if prov.get("command"):
        lines.append(f"command: {prov['command']}")
    lines.append("parameters: " + ", ".join(f"{k}={v}" for k, v in r.params.items()))
    record = {k: v for k, v in r.solver.items() if np.ndim(v) == 0}
    lines.append("solver: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                        for k, v in record.items()))
    if r.order:
        lines.append("order parameters: " + ", ".join(f"{k}{tuple(np.shape(v))}" for k, v in r.order.items()))
    names = r.observable_names()
    n = len(r.t)
    if n == 0:
        return "\n".join(lines + ["no time points"])
    idx = sorted(set(np.linspace(0, n - 1, min(times, n)).round().astype(int)))
    lines.append(f"observables at {len(idx)} of {n} times (t = {r.t[0]:g} .. {r.t[-1]:g}):")
    table = [["t"] + names]
    for i in idx:
        row = [f"{r.t[i]:.4g}"]
        for name in names:
            se = r.stderr(name)
            row.append(f"{r.observables[name][i]:.6g}" + (f" ± {se[i]:.2g}" if se is not None else ""))
        table.append(row)
    widths = [max(len(x) for x in col) for col in zip(*table)]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in table]
    return "\n".join(lines)


def plot(result_or_path, path, logt: bool = False) -> None:
    """Figure of observables against t (and C(t,s) if stored); see dmft.plotting.plot."""
    from .plotting import plot as _plot
    _plot(_as_result(result_or_path), path, logt=logt)
