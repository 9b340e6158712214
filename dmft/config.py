"""TOML run configurations: ``model = "..."`` (optional) and the parameters, either at the top
level or in a ``[params]`` table."""
from __future__ import annotations

import sys
from typing import Any

from .model import ParameterError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def read_config(path) -> tuple[str | None, dict[str, Any]]:
    """Return (model name or None, parameters) from a TOML file."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ParameterError(f"cannot read config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"cannot parse config {path}: {exc}") from None
    model = data.pop("model", None)
    params = data.pop("params", {})
    if not isinstance(params, dict):
        raise ParameterError(f"config {path}: 'params' must be a table")
    nested = sorted(k for k, v in data.items() if isinstance(v, dict))
    if nested:
        raise ParameterError(f"config {path}: unexpected table [{nested[0]}] (use [params])")
    return model, {**data, **params}
