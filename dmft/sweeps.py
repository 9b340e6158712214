"""Parameter sweeps on dask.distributed: every grid point is one independent solve (or
simulate / validate), written to its own HDF5 file, plus one index table.

    dmft sweep MODEL [key=value ...] --grid alpha=0.5,1,2 --grid ridge=1e-3:1:7:log -o DIR

* Grids: ``key=v1,v2,...`` or ``key=start:stop:num[:log]``; the points are their Cartesian product
  with the fixed parameters.  A linked key ``a+b=...`` sets several parameters to the same value
  (one axis, e.g. ``sigma_u+sigma_w``).  Every point's parameters are checked before any work.
* Each point writes DIR/<key=value_...>.h5 atomically (task validate: a report directory
  DIR/<key=value_...>/ with report.html and summary.json); on Ctrl-C the local cluster is shut down
  and leftover partial files are removed, so an interrupted sweep leaves only complete files (on an
  external cluster, tasks already running finish on their own and still write atomically).
  ``resume`` skips points whose file already exists.  A point that raises is recorded with its
  error and the sweep goes on.
* DIR/sweep.json: model, task, the grid (as the model reads it), fixed parameters, command.
* DIR/index.csv: one row per point with its parameters, ``status`` (ok, diverged or not converged
  message, ``failed: ...``, ``skipped``), ``wall_time`` and scalar summaries: ``<obs>_final`` and
  ``<obs>_min`` of every observable, every numeric scalar of the solver record (e.g. a model's
  ``kernel_ratio``), and for validate ``passed`` and ``max_abs_z``.
* Execution: a local dask cluster of ``workers`` processes (numba threads split between them so
  the machine is not oversubscribed), or an existing cluster at ``scheduler``.
"""
from __future__ import annotations

import csv
import datetime
import itertools
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .model import ParameterError

TASKS = ("solve", "simulate", "validate")
SIM_KEYS = {"d", "seeds", "seed"}


def parse_grid(spec: str) -> tuple[str, list[Any]]:
    """``key=v1,v2,...`` (values kept as strings for the model to convert) or
    ``key=start:stop:num[:log]`` (num evenly or log-spaced floats)."""
    key, sep, values = spec.partition("=")
    if not sep or not key or not values:
        raise ParameterError(f"--grid expects key=v1,v2,... or key=start:stop:num[:log] (got {spec!r})")
    if ":" in values:
        parts = values.split(":")
        try:
            if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "log"):
                raise ValueError
            start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
            if num < 1 or (len(parts) == 4 and (start <= 0 or stop <= 0)):
                raise ValueError
        except ValueError:
            raise ParameterError(f"--grid {key}: expected start:stop:num[:log] with num >= 1 "
                                 f"(and positive ends for log) (got {values!r})") from None
        space = np.geomspace if len(parts) == 4 else np.linspace
        return key.strip(), [float(v) for v in space(start, stop, num)]
    return key.strip(), [v.strip() for v in values.split(",") if v.strip()]


def point_name(point: dict[str, Any]) -> str:
    """File stem of a grid point, from its swept values: alpha=0.5_ridge=0.001."""
    def fmt(v):
        return f"{v:g}" if isinstance(v, float) else str(v)
    stem = "_".join(f"{k}={fmt(v)}" for k, v in point.items()) or "point"
    return re.sub(r"[^A-Za-z0-9=._,+-]", "-", stem)


def plan(model: str, fixed: dict[str, Any], grids: dict[str, list[Any]], task: str, config=None):
    """The grid points as (swept values, checked parameters); ParameterError before any work."""
    from . import api
    if task not in TASKS:
        raise ParameterError(f"task must be one of {'|'.join(TASKS)} (got {task!r})")
    if not grids:
        raise ParameterError("a sweep needs at least one --grid")
    points = []
    for values in itertools.product(*grids.values()):
        point = dict(zip(grids, values))
        given = {**fixed, **{name: v for key, v in point.items() for name in key.split("+")}}
        model_given = {k: v for k, v in given.items() if k not in SIM_KEYS} if task != "solve" else given
        checked = api.check_params(model, config, **model_given)
        # keep the swept values as the model reads them (e.g. "0.5" -> 0.5) for names and the index
        point = {k: checked.get(k.split("+")[0], v) for k, v in point.items()}
        points.append((point, given))
    return points


def _summaries(result) -> dict[str, Any]:
    out = {}
    for name in result.observable_names():
        values = np.asarray(result.observables[name])
        if values.ndim == 1 and len(values):
            out[f"{name}_final"] = float(values[-1])
            out[f"{name}_min"] = float(np.nanmin(values))
    for key, value in result.solver.items():
        numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        if numeric and key not in ("wall_time", "dt"):
            out[key] = float(value)
    return out


def run_point(model: str, task: str, given: dict[str, Any], path: str, config, options: dict) -> dict:
    """Run one grid point (on a worker) and return its index row (never raises)."""
    from . import api
    start = time.perf_counter()
    try:
        if task == "validate":                   # path is the point's report directory
            kwargs = {**options, **{k: v for k, v in given.items() if k != "d"}}
            outcome = api.validate(model, config, report=Path(path), **kwargs)
            row = {"status": "ok" if outcome.passed else "failed validation", "passed": outcome.passed,
                   "max_abs_z": max(o["max_abs_z"] for o in outcome.summary["observables"].values())}
        else:
            run = api.solve if task == "solve" else api.simulate
            result = run(model, config, command=f"dmft sweep ({task} {Path(path).name})", **given)
            result.save(path, force=True)
            row = {"status": result.solver.get("status", "ok"), **_summaries(result)}
    except Exception as exc:                      # a failed point is recorded, the sweep goes on
        row = {"status": f"failed: {type(exc).__name__}: {exc}"}
    row["wall_time"] = time.perf_counter() - start
    return row


def _client(workers: int | None, scheduler: str | None):
    from dask.distributed import Client, LocalCluster
    if scheduler:
        return Client(scheduler), None
    workers = workers or os.cpu_count() or 1
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    env = {"NUMBA_NUM_THREADS": threads, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0", env=env)
    return Client(cluster), cluster


def write_index(directory: Path, rows: list[dict]) -> Path:
    """DIR/index.csv, written atomically: fixed columns first, then every key in order of appearance."""
    columns = list(dict.fromkeys(["file", "status", "wall_time"] + [k for r in rows for k in r]))
    path = directory / "index.csv"
    tmp = directory / ".index.csv.partial"
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
    return path


def read_sweep(directory) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(DIR/sweep.json, the rows of DIR/index.csv with numbers converted back to floats)."""
    path, meta_path = Path(directory) / "index.csv", Path(directory) / "sweep.json"
    if not (path.exists() and meta_path.exists()):
        raise FileNotFoundError(f"{directory} is not a sweep directory (no index.csv / sweep.json)")
    meta = json.loads(meta_path.read_text())

    def value(text):
        try:
            return float(text)
        except ValueError:
            return text
    with open(path, newline="") as f:
        return meta, [{k: value(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def sweep(model: str, directory, grids: dict[str, list[Any]], *, fixed: dict[str, Any] | None = None,
          task: str = "solve", config=None, workers: int | None = None, scheduler: str | None = None,
          resume: bool = False, progress: bool = False, options: dict | None = None,
          command: str | None = None) -> list[dict]:
    """Run the sweep (see module docstring); returns the index rows in grid order."""
    from tqdm import tqdm
    from dask.distributed import as_completed

    points = plan(model, fixed or {}, grids, task, config)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"model": model, "task": task,
            "grid": {k: list(dict.fromkeys(point[k] for point, _ in points)) for k in grids},
            "fixed": fixed or {}, "config": str(config) if config else None, "options": options or {},
            "dmft_version": __version__, "command": command or "python: dmft.sweep",
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    (directory / "sweep.json").write_text(json.dumps(meta, indent=2, default=str))
    rows: list[dict] = [{} for _ in points]
    todo = []
    for i, (point, given) in enumerate(points):
        name = point_name(point) + (".h5" if task != "validate" else "")
        rows[i] = {"file": name, **point}
        done = directory / name / "summary.json" if task == "validate" else directory / name
        if resume and done.exists():
            rows[i]["status"] = "skipped (done)"
        else:
            todo.append(i)
    client, cluster = _client(workers, scheduler) if todo else (None, None)
    try:
        futures = {client.submit(run_point, model, task, points[i][1], str(directory / rows[i]["file"]),
                                 config, options or {}, pure=False): i for i in todo} if todo else {}
        with tqdm(total=len(futures), unit="point", disable=not progress, leave=False) as bar:
            for future in as_completed(futures):
                i = futures[future]
                try:
                    rows[i].update(future.result())
                except Exception as exc:         # the worker itself failed (killed, lost, ...)
                    rows[i].update(status=f"failed: {type(exc).__name__}: {exc}")
                bar.update(1)
                write_index(directory, rows)
    except KeyboardInterrupt:
        write_index(directory, rows)
        raise
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        for partial in directory.glob(".*.partial"):   # left by a worker stopped mid-write
            partial.unlink(missing_ok=True)
    write_index(directory, rows)
    return rows
