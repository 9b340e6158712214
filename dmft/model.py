"""The model protocol: what a model declares and the parameter specs the engine checks.

A model is a class registered in the ``dmft.models`` entry-point group.  It declares

* ``name``, ``summary`` and ``reference`` (the paper);
* ``parameters``: a tuple of :class:`Param` (name, type, default, allowed range, meaning);
* ``observables`` and ``order_parameters``: name -> one-line meaning;
* ``solve(params, run)``: compute a :class:`dmft.result.Result` using the engine's drivers
  (``dmft.march``, ``dmft.fixedpoint``) and the run context (progress, checkpoints);
* optionally ``check(params)`` for conditions involving several parameters, and ``tools``:
  named model-specific commands (:class:`Tool`).

The engine never imports a model by name.  A simulator of the finite system is a class with
the same ``name`` in the ``dmft.simulators`` group (see ``dmft.simulation``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar


class ParameterError(ValueError):
    """Invalid input, reported before any work starts."""


_TYPE_NAMES = {float: "float", int: "int", str: "str", bool: "bool", tuple: "list of floats"}


@dataclass(frozen=True)
class Param:
    """One declared parameter.

    ``low``/``high`` bound numeric values (``low_open``/``high_open`` make the bound strict);
    ``choices`` lists the allowed strings.  ``type=tuple`` is a list of floats (a TOML array or
    ``"1,2,3"`` on the command line); its default is usually None (not given).
    """

    name: str
    type: type
    default: Any
    meaning: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None

    def allowed(self) -> str:
        """Human-readable allowed range, e.g. '> 0', '[0, 1]', 'gf|gd'."""
        if self.choices:
            return "|".join(self.choices)
        if self.low is not None and self.high is not None:
            return (("(" if self.low_open else "[") + f"{self.low:g}, {self.high:g}"
                    + (")" if self.high_open else "]"))
        if self.low is not None:
            return (">" if self.low_open else ">=") + f" {self.low:g}"
        if self.high is not None:
            return ("<" if self.high_open else "<=") + f" {self.high:g}"
        return "any"

    def convert(self, value: Any) -> Any:
        """Convert (from a CLI string, TOML or Python value) and check the range."""
        tname = _TYPE_NAMES.get(self.type, self.type.__name__)
        if value is None and self.default is None:
            return None
        given = value
        try:
            if self.type is bool:
                if isinstance(value, str):
                    if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError
                    value = value.lower() in ("true", "1", "yes")
                elif not isinstance(value, bool):
                    raise ValueError
            elif self.type is int:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                value = int(value)
            elif self.type is float:
                if isinstance(value, bool):
                    raise ValueError
                value = float(value)
            elif self.type is tuple:
                items = value.split(",") if isinstance(value, str) else list(value)
                if any(isinstance(v, bool) for v in items):
                    raise ValueError
                value = tuple(float(v) for v in items)
                if not value or not all(math.isfinite(v) for v in value):
                    raise ValueError
            else:
                value = self.type(value)
        except (TypeError, ValueError):
            raise ParameterError(f"parameter {self.name!r} must be of type {tname} (got {given!r})") from None
        if self.choices is not None and value not in self.choices:
            raise ParameterError(f"parameter {self.name!r} must be one of {self.allowed()} (got {value!r})")
        if self.type in (int, float):
            if not math.isfinite(value) or not self._in_range(value):
                raise ParameterError(
                    f"parameter {self.name!r} must be {self.allowed()} (got {value!r})")
        return value

    def _in_range(self, v: float) -> bool:
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            return False
        if self.high is not None and (v > self.high or (self.high_open and v == self.high)):
            return False
        return True


def resolve(params_spec: tuple[Param, ...], given: dict[str, Any], owner: str) -> dict[str, Any]:
    """Defaults overlaid with ``given``; unknown names and bad values raise ParameterError."""
    spec = {p.name: p for p in params_spec}
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise ParameterError(
            f"unknown parameter {unknown[0]!r} for {owner} (known: {', '.join(spec)})")
    return {name: p.convert(given[name]) if name in given else p.default for name, p in spec.items()}


@dataclass(frozen=True)
class Tool:
    """A model-specific command beyond solve (a phase diagram, a threshold fit, ...).

    ``run(params, directory, command)`` writes its outputs (HDF5 tables, figures) into an existing
    ``directory`` and returns the paths it wrote.  Exposed as ``dmft tool MODEL NAME`` and
    ``dmft.tool(...)``.
    """

    name: str
    summary: str
    parameters: tuple[Param, ...]
    run: Callable[[dict[str, Any], Path, str], list[Path]]


class Model:
    """Base class of a DMFT model (see the module docstring)."""

    name: ClassVar[str]
    summary: ClassVar[str]
    reference: ClassVar[str] = ""
    parameters: ClassVar[tuple[Param, ...]]
    observables: ClassVar[dict[str, str]]
    order_parameters: ClassVar[dict[str, str]] = {}
    tools: ClassVar[dict[str, Tool]] = {}

    def check(self, params: dict[str, Any]) -> None:
        """Conditions involving several parameters; raise ParameterError."""

    def solve(self, params: dict[str, Any], run):  # pragma: no cover - interface
        raise NotImplementedError
