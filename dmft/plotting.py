"""Figures of a :class:`dmft.result.Result`, drawn without pyplot's global state."""
from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from .result import Result


def _param_string(result: Result) -> str:
    """``alpha=2, sigma2=0.25, ...`` (with d and seeds for a simulation), wrapped in lines."""
    items = dict(result.params)
    if result.simulation:
        items.update(d=result.simulation["d"], seeds=result.simulation["seeds"])
    parts = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in items.items()]
    lines = [", ".join(parts[i:i + 8]) for i in range(0, len(parts), 8)]
    return "\n".join(lines)


def plot(result: Result, path, logt: bool = False) -> None:
    """Save a figure of ``result`` to ``path`` (format from the extension, e.g. .png, .pdf).

    Draws one panel per observable (``result.observable_names()``): the value against t, with
    a shaded band of ± one standard error where ``result.stderr(name)`` exists (simulations,
    Monte Carlo solvers).  ``logt=True`` puts t on a log axis and leaves out t <= 0.  If the
    result has a two-time order parameter ``C``, a last panel shows C(t, s) as a heat map
    (t up, s across, linear axes) with a colour bar.  The title is the model name and its
    parameters.
    """
    names = result.observable_names()
    heat_map = "C" in result.order and np.ndim(result.order["C"]) == 2
    n_panels = len(names) + heat_map
    ncols = max(1, min(3, n_panels))
    nrows = math.ceil(n_panels / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.3 * nrows + 0.6), layout="constrained")
    fig.suptitle(f"{result.model}\n{_param_string(result)}", fontsize="medium")

    shown = result.t > 0 if logt else np.ones(len(result.t), dtype=bool)
    t = result.t[shown]
    for i, name in enumerate(names):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        value = result.observables[name][shown]
        ax.plot(t, value, color="C0")
        stderr = result.stderr(name)
        if stderr is not None:
            ax.fill_between(t, value - stderr[shown], value + stderr[shown], color="C0", alpha=0.3,
                            lw=0, label="± stderr")
            ax.legend(fontsize="small")
        ax.set(xlabel="t", ylabel=name)
        if logt:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # they overlap on short ranges

    if heat_map:
        ax = fig.add_subplot(nrows, ncols, n_panels)
        half = (result.t[-1] - result.t[0]) / max(len(result.t) - 1, 1) / 2  # pixels centred on the grid
        t0, t1 = float(result.t[0] - half), float(result.t[-1] + half)
        image = ax.imshow(result.order["C"], origin="lower", extent=(t0, t1, t0, t1),
                          aspect="auto", cmap="viridis")
        fig.colorbar(image, ax=ax, label="C(t, s)")
        ax.set(xlabel="s", ylabel="t", title="C(t, s)")
    fig.savefig(path)


def plot_sweep(meta: dict, rows: list[dict], x: str, y: str, path, logx: bool = False) -> None:
    """Save ``y`` against the swept parameter ``x`` of a sweep (dmft.sweeps.read_sweep), one line
    per combination of the other swept parameters; points without a value of ``y`` are left out."""
    from .model import ParameterError
    if x not in meta["grid"]:
        raise ParameterError(f"--x must be a swept parameter ({', '.join(meta['grid'])}), got {x!r}")
    others = [k for k in meta["grid"] if k != x]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if isinstance(row.get(y), float):
            groups.setdefault(tuple(row.get(k) for k in others), []).append(row)
    if not groups:
        raise ParameterError(f"no point of the sweep has a value of {y!r}")
    fig = Figure(figsize=(5.5, 4), layout="constrained")
    ax = fig.add_subplot()
    for key, members in groups.items():
        members.sort(key=lambda r: r[x])
        label = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in zip(others, key))
        ax.plot([r[x] for r in members], [r[y] for r in members], "o-", label=label or None)
    if logx:
        ax.set_xscale("log")
    ax.set(xlabel=x, ylabel=y, title=f"{meta['model']}: {meta['task']} sweep")
    if others:
        ax.legend(fontsize="small")
    fig.savefig(path)
