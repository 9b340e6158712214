"""HDF5 storage: trajectories (schema in docs/hdf5.md) and checkpoints.

Every file is written atomically: to a temporary file in the target's directory, then
``os.replace``d onto the target, so a killed run never leaves a half-written file under the
target name.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

import h5py
import numpy as np

from ._version import __version__
from .result import Result

FORMAT = "dmft-trajectory"
FORMAT_VERSION = 1
CHECKPOINT_FORMAT = "dmft-checkpoint"


class StoreError(ValueError):
    """A file that is not what the reader expects."""


def _temporary_path(path) -> Path:
    """Where ``path`` is written before the rename (a stale one is simply overwritten)."""
    path = Path(path)
    return path.with_name(f".{path.name}.partial")


@contextlib.contextmanager
def atomic_h5(path) -> Iterator[h5py.File]:
    """Write an HDF5 file next to ``path``; rename it onto ``path`` on success."""
    path = Path(path)
    tmp = _temporary_path(path)
    try:
        with h5py.File(tmp, "w") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _attr(value: Any) -> Any:
    return "" if value is None else value


def write_result(path, result: Result, *, force: bool = False) -> None:
    """Write ``result`` to ``path`` (schema: docs/hdf5.md)."""
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists (use --force / force=True to overwrite)")
    prov = result.provenance
    with atomic_h5(path) as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["model"] = result.model
        f.attrs["params"] = json.dumps(result.params, sort_keys=True)
        f.attrs["dmft_version"] = prov.get("dmft_version", __version__)
        f.attrs["created"] = prov.get("created", "")
        f.attrs["command"] = prov.get("command", "")
        if result.seed is not None:
            f.attrs["seed"] = int(result.seed)
        f.create_dataset("grid/t", data=np.asarray(result.t, dtype=float))
        for name, values in result.observables.items():
            f.create_dataset(f"observables/{name}", data=np.asarray(values, dtype=float))
        for name, values in result.order.items():
            f.create_dataset(f"order/{name}", data=np.asarray(values, dtype=float),
                             compression="gzip" if np.ndim(values) == 2 else None)
        for name, values in result.history.items():
            f.create_dataset(f"history/{name}", data=np.asarray(values, dtype=float),
                             compression="gzip" if np.ndim(values) == 2 else None)
        g = f.require_group("solver")
        for key, value in result.solver.items():
            if isinstance(value, np.ndarray):
                g.create_dataset(key, data=value)
            else:
                g.attrs[key] = _attr(value)
        if result.simulation is not None:
            s = f.create_group("simulation")
            for key, value in result.simulation.items():
                if key == "per_seed":
                    for name, values in value.items():
                        s.create_dataset(f"per_seed/{name}", data=np.asarray(values, dtype=float))
                else:
                    s.attrs[key] = _attr(value)


def write_table(path, model: str, tool: str, params: dict[str, Any], command: str,
                data: dict[str, np.ndarray], **attrs: Any) -> None:
    """Atomically write a tool's table: root attributes (format dmft-table, model, tool, params,
    command, ``attrs``) and one dataset per entry of ``data`` (docs/hdf5.md, "Tool tables")."""
    with atomic_h5(path) as f:
        f.attrs["format"] = "dmft-table"
        f.attrs["model"] = model
        f.attrs["tool"] = tool
        f.attrs["params"] = json.dumps(params, sort_keys=True)
        f.attrs["command"] = command
        for key, value in attrs.items():
            f.attrs[key] = value
        for name, values in data.items():
            f.create_dataset(name, data=values)


def _read_attrs(group) -> dict[str, Any]:
    out = {}
    for key, value in group.attrs.items():
        out[key] = value.item() if isinstance(value, np.generic) else value
    return out


def load(path) -> Result:
    """Read a trajectory file written by :func:`write_result`."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise StoreError(f"{path} is not an HDF5 file ({exc})") from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise StoreError(f"{path} is not a {FORMAT} file")
        if int(f.attrs["format_version"]) > FORMAT_VERSION:
            raise StoreError(f"{path} has format_version {f.attrs['format_version']}, newer than "
                             f"this dmft ({FORMAT_VERSION}); upgrade dmft")
        solver = _read_attrs(f["solver"]) if "solver" in f else {}
        if "solver" in f:
            solver.update({k: v[()] for k, v in f["solver"].items()})
        simulation = None
        if "simulation" in f:
            simulation = _read_attrs(f["simulation"])
            if "per_seed" in f["simulation"]:
                simulation["per_seed"] = {k: v[()] for k, v in f["simulation/per_seed"].items()}
        return Result(
            model=str(f.attrs["model"]),
            params=json.loads(f.attrs["params"]),
            t=f["grid/t"][()],
            observables={k: v[()] for k, v in f["observables"].items()} if "observables" in f else {},
            order={k: v[()] for k, v in f["order"].items()} if "order" in f else {},
            solver=solver,
            seed=int(f.attrs["seed"]) if "seed" in f.attrs else None,
            simulation=simulation,
            history={k: v[()] for k, v in f["history"].items()} if "history" in f else {},
            provenance={k: _read_attrs(f)[k] for k in ("dmft_version", "created", "command")},
        )


# ---------------------------------------------------------------- checkpoints

def fingerprint(model: str, params: dict[str, Any]) -> str:
    """What a checkpoint must match to be resumed: model, parameters, format version."""
    return json.dumps({"model": model, "params": params, "format_version": FORMAT_VERSION},
                      sort_keys=True)


def write_checkpoint(path, key: str, progress: int, state: dict[str, Any]) -> None:
    """Atomically store a driver's state (arrays and scalars) after ``progress`` units of work."""
    with atomic_h5(path) as f:
        f.attrs["format"] = CHECKPOINT_FORMAT
        f.attrs["fingerprint"] = key
        f.attrs["progress"] = int(progress)
        f.attrs["dmft_version"] = __version__
        for name, value in state.items():
            f.create_dataset(name, data=np.asarray(value))


def read_checkpoint(path, key: str) -> tuple[int, dict[str, np.ndarray]]:
    """Return (progress, state) of a checkpoint made with the same fingerprint."""
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != CHECKPOINT_FORMAT:
            raise StoreError(f"{path} is not a dmft checkpoint")
        if f.attrs["fingerprint"] != key:
            raise StoreError(f"checkpoint {path} belongs to a different run "
                             "(model, parameters or format version differ); remove it or drop --resume")
        return int(f.attrs["progress"]), {k: v[()] for k, v in f.items()}
