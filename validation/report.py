"""The validation report: ``summary.json`` and a self-contained ``report.html``.

The page holds the run's parameters, a summary table per observable and, per observable,
three figures (embedded as base64 PNG, so the page needs no other file):

  (a) the theory against t with the simulation mean at each size; error bars are the
      combined standard error that z is measured in (simulation and theory added in quadrature);
  (b) z(t) = (theory - simulation) / stderr at each size, with the allowed +-|z| (dashed);
  (c) max_t |theory - simulation| against d on log-log axes, and max_t |z| against d.

Figures are drawn on ``matplotlib.figure.Figure`` objects (no pyplot, no backend switch).
"""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .compare import Comparison, Validation

_STYLE = """
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th { background: #eee; }
.pass { color: #070; font-weight: bold; }
.fail { color: #b00; font-weight: bold; }
.row { display: flex; flex-wrap: wrap; gap: 1em; }
"""


def _json_default(value):
    """Numpy scalars and arrays as plain Python values for ``json.dumps``."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _img(fig: Figure) -> str:
    """The figure as an ``<img>`` tag with the PNG inlined in base64."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="figure">'


def _verdict(passed: bool) -> str:
    return '<span class="pass">PASS</span>' if passed else '<span class="fail">FAIL</span>'


def _fmt(value) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _table(header: list[str], rows: list[list[str]]) -> str:
    """An HTML table; header cells are escaped, row cells are inserted as given."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _comparison_figure(validation: Validation, name: str, rows: list[Comparison]) -> Figure:
    """(a) theory against t with the simulation mean +- stderr at each size."""
    fig = Figure(figsize=(5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    theory = validation.theory
    ax.plot(theory.t, theory.observables[name], color="k", lw=1.5, label="theory")
    for i, c in enumerate(rows):
        # at most ~30 markers per size, staggered between sizes so the theory line stays visible
        stride = max(1, len(c.t) // 30)
        pick = slice(i * stride // max(len(rows), 1), None, stride)
        ax.errorbar(c.t[pick], c.simulation[pick], yerr=c.stderr[pick], fmt="o", ms=3, capsize=2,
                    color=f"C{i}", label=f"d = {c.d}")
    ax.set(xlabel="t", ylabel=name, title=f"{name}: theory and simulation")
    ax.legend(fontsize="small")
    return fig


def _z_figure(validation: Validation, name: str, rows: list[Comparison]) -> Figure:
    """(b) deviation in units of the standard error, with the pass band."""
    fig = Figure(figsize=(5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    for i, c in enumerate(rows):
        ax.plot(c.t, c.z, "o-", ms=3, color=f"C{i}", label=f"d = {c.d}")
    for i, c in enumerate(rows):                  # the allowed |z| (Student-t calibrated)
        ax.plot(c.t, c.limit, "--", color=f"C{i}", lw=1)
        ax.plot(c.t, -c.limit, "--", color=f"C{i}", lw=1)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set(xlabel="t", ylabel="z = (theory - simulation) / stderr", title=f"{name}: deviation")
    ax.legend(fontsize="small")
    return fig


def _size_figure(validation: Validation, name: str, rows: list[Comparison]) -> Figure:
    """(c) max |theory - simulation| (log-log) and max |z| against d."""
    fig = Figure(figsize=(4, 3.6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    d, diffs = [c.d for c in rows], [c.max_abs_diff for c in rows]
    top.plot(d, diffs, "o-", color="C0")
    top.set_yscale("log" if max(diffs) > 0 else "linear")   # log only if there is something to show
    slope = validation.trend(name)
    top.set(ylabel="max |theory - sim|",
            title=f"{name}: finite size" + ("" if slope is None else f" (slope {slope:.2f})"))
    bottom.plot(d, [c.max_abs_z for c in rows], "s-", color="C1")
    bottom.plot(d, [float(np.median(c.limit)) for c in rows], "--", color="k", lw=1)
    bottom.set(xscale="log", xlabel="d", ylabel="max |z|", ylim=(0, None))
    return fig


def _observable_section(validation: Validation, name: str) -> str:
    rows = [c for c in validation.comparisons if c.observable == name]
    figures = "".join(_img(draw(validation, name, rows))
                      for draw in (_comparison_figure, _z_figure, _size_figure))
    return (f"<h3>{html.escape(name)} {_verdict(validation.passed_observable(name))}</h3>"
            f'<div class="row">{figures}</div>')


def _summary_table(validation: Validation, summary: dict) -> str:
    sizes = [str(d) for d in validation.sizes]
    header = (["observable"] + [f"max|z| d={d}" for d in sizes]
              + [f"max|diff| d={d}" for d in sizes] + ["finite-size slope", "relative resolution", "result"])
    rows = []
    for name, obs in summary["observables"].items():
        by_size = obs["by_size"]
        rows.append([html.escape(name)]
                    + [_fmt(by_size[d]["max_abs_z"]) if d in by_size else _fmt(None) for d in sizes]
                    + [_fmt(by_size[d]["max_abs_diff"]) if d in by_size else _fmt(None) for d in sizes]
                    + [_fmt(obs["finite_size_slope"]), _fmt(obs["relative_resolution"]), _verdict(obs["passed"])])
    return _table(header, rows)


def _html(validation: Validation, summary: dict) -> str:
    model = html.escape(str(summary["model"]))
    params = _table(["parameter", "value"],
                    [[html.escape(k), _fmt(v)] for k, v in summary["params"].items()])
    run = _table(["sizes d", "seeds", "seed", "threshold |z|", "theory solver status"],
                 [[_fmt(", ".join(map(str, summary["sizes"]))), _fmt(summary["seeds"]),
                   _fmt(summary["seed"]), _fmt(summary["threshold"]),
                   _fmt(summary["theory_status"])]])
    sections = "".join(_observable_section(validation, name) for name in validation.observables)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Validation of {model}</title><style>{_STYLE}</style></head>
<body>
<h1>Validation of {model}: {_verdict(summary["passed"])}</h1>
<h2>Run</h2>
{run}
<h2>Parameters</h2>
{params}
<h2>Summary</h2>
<p>An observable passes at a size if every |z(t)| is within the Student-t quantile with the normal
tail probability of {_fmt(summary["threshold"])} (the standard errors come from few seeds; the
allowed |z| per size is in summary.json as <code>limit</code>).
The finite-size slope is that of log max<sub>t</sub> |theory &minus; simulation| against log d
(&minus;1/2 for sampling noise, &minus;1 for an O(1/d) bias). The relative resolution,
median<sub>t</sub> allowed |z| &times; stderr/|theory| at the best size, is about the smallest
uniform relative error of the theory that this validation would catch.</p>
{_summary_table(validation, summary)}
<h2>Observables</h2>
<p>(a) theory and simulation mean &plusmn; combined standard error; (b) z(t) with the
allowed band (dashed); (c) maximal deviation and maximal |z| against d.</p>
{sections}
</body>
</html>
"""


def write_report(directory, validation: Validation) -> Path:
    """Write ``directory``/summary.json and ``directory``/report.html; return the HTML path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    summary = validation.summary
    (directory / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default),
                                            encoding="utf-8")
    path = directory / "report.html"
    path.write_text(_html(validation, summary), encoding="utf-8")
    return path
