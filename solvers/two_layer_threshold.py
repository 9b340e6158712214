"""Tool ``threshold`` of model ``two-layer``: the gradient-flow interpolation threshold
alpha*_GF(gamma0), the inverse of gamma*_GF(alpha) (two_layer.md §4.2, App. F.1.3).

At tau = 1 and fixed gamma0, the lz2 equations (solvers.two_layer_limits) are integrated for each alpha of a list; t_rel(alpha) = inf{t : e_tr(t) < eps_rel} (log-linear
interpolation in e_tr between steps) is measured on the alphas that interpolate within t_max,
and fitted by t_rel = c (alpha* - alpha)^(-2) (the method of record: sqrt(1/t_rel) is linear in
alpha) and by t_rel = c (alpha* - alpha)^(-kappa) with kappa free (least squares in log t_rel).

Resolving e_tr ~ 1e-7 needs the uniform scheme with dt <~ 0.05: e_tr = -C_A(t,t)/2 is a small
difference of O(1) terms, and the compressed history (scheme=long-time, eps = 0.05) carries an
absolute error ~1e-5 in it (measured: e_tr turns negative at -3e-6 near t = 8, alpha = 0.3); the
uniform scheme at dt = 0.1 reaches -1e-6, at dt = 0.05 stays above -1e-9 down to e_tr ~ 1e-9.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy.optimize import curve_fit

from dmft.model import Param, ParameterError, resolve
from dmft.run import Run
from dmft.store import write_table

from . import two_layer, two_layer_limits

PARAMETERS = (
    Param("alpha", tuple, (0.4, 0.45, 0.5, 0.55, 0.6, 0.65), "alphas n/(m d) to scan (comma list)"),
    Param("gamma0", float, 10.0 / 7.0, "lazy second-layer scale gamma0 (tau = 1)", low=0, low_open=True),
    Param("h", tuple, (0.3, 0.5), "coefficients h_1, h_2, ... of h(q) (only htilde = h - h_1 q matters)"),
    Param("eps_rel", float, 1e-7, "relaxation level: t_rel = inf{t : e_tr < eps_rel tau^2}", low=0, low_open=True,
          high=1, high_open=True),
    Param("t_max", float, 60.0, "final time of each lz2 run", low=0, low_open=True),
    Param("dt", float, 0.05, "time step (<= 0.05 to resolve e_tr ~ 1e-7)", low=0, low_open=True),
    Param("scheme", str, "uniform", "history of the lz2 runs (long-time: e_tr floor ~1e-5, see the docstring)",
          choices=("uniform", "long-time")),
    Param("eps", float, 0.05, "long-time scheme: relative spacing of the compressed history", low=0,
          low_open=True, high=0.5),
)


def relaxation_time(t: np.ndarray, e: np.ndarray, level: float) -> float:
    """First t with e(t) < level, interpolating log e linearly between the bracketing steps (NaN if never)."""
    below = np.flatnonzero(e < level)
    if not len(below):
        return float("nan")
    i = int(below[0])
    if i == 0 or e[i] <= 0:
        return float(t[i])
    x0, x1 = np.log(e[i - 1]), np.log(e[i])
    return float(t[i - 1] + (t[i] - t[i - 1]) * (x0 - np.log(level)) / (x0 - x1))


def fit_threshold(alpha: np.ndarray, t_rel: np.ndarray) -> dict:
    """Fits of t_rel = c (alpha* - alpha)^(-kappa): kappa = 2 (line through t_rel^(-1/2)) and kappa free."""
    ok = np.isfinite(t_rel)
    a, t = alpha[ok], t_rel[ok]
    out = {"alpha_star": np.nan, "c": np.nan, "alpha_star_free": np.nan, "kappa_free": np.nan, "c_free": np.nan}
    if len(a) < 2:
        return out
    slope, intercept = np.polyfit(a, t ** -0.5, 1)
    out["alpha_star"], out["c"] = -intercept / slope, 1.0 / slope ** 2
    if len(a) >= 4 and slope < 0:
        def model(x, log_c, star, kappa):
            return log_c - kappa * np.log(np.clip(star - x, 1e-12, None))
        try:
            (log_c, star, kappa), _ = curve_fit(model, a, np.log(t), p0=(np.log(out["c"]), out["alpha_star"], 2.0),
                                                maxfev=20000)
            out.update(alpha_star_free=star, kappa_free=kappa, c_free=np.exp(log_c))
        except RuntimeError:
            pass
    return out


def threshold(params, directory: Path, command: str) -> list[Path]:
    """Write threshold.h5 (alpha, t_rel, the fits, e_tr(t) per alpha) and threshold.png."""
    alphas = np.asarray(sorted(params["alpha"]), dtype=float)
    if np.any(alphas <= 0):
        raise ParameterError(f"parameter 'alpha' must hold values > 0 (got {params['alpha']})")
    runs = [_lz2(params, alpha) for alpha in alphas]
    n = max(len(r.t) for r in runs)
    t = runs[int(np.argmax([len(r.t) for r in runs]))].t
    curves = np.full((len(alphas), n), np.nan)
    for k, r in enumerate(runs):
        curves[k, : len(r.t)] = r["train_error"]
    t_rel = np.array([relaxation_time(r.t, r["train_error"], params["eps_rel"]) for r in runs])
    fit = fit_threshold(alphas, t_rel)
    table = directory / "threshold.h5"
    write_table(table, "two-layer", "threshold", params, command,
                {"alpha": alphas, "t_rel": t_rel, "t": t, "train_error": curves},
                **{k: float(v) for k, v in fit.items()},
                status="; ".join(f"alpha={a:g}: {r.solver['status']}" for a, r in zip(alphas, runs)))
    figure = directory / "threshold.png"
    _figure(params, alphas, runs, t_rel, fit).savefig(figure, dpi=90)
    return [table, figure]


def _lz2(params, alpha):
    given = {"m": 1, "alpha": alpha, "tau": 1.0, "h": params["h"], "target": "noise", "init": "lazy",
             "gamma0": params["gamma0"], "train_a": False, "t_max": params["t_max"], "dt": params["dt"],
             "scheme": params["scheme"], "eps": params["eps"]}
    p = resolve(two_layer.TwoLayer.parameters, given, "tool 'threshold'")
    p["method"] = "lz2"
    return two_layer_limits.solve(p, Run(f"threshold-{alpha}", progress=True, description=f"lz2 alpha={alpha:g}"))


def _figure(params, alphas, runs, t_rel, fit) -> Figure:
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    for alpha, r in zip(alphas, runs):
        left.semilogy(r.t, np.clip(r["train_error"], 1e-16, None), label=f"alpha = {alpha:g}")
    left.axhline(params["eps_rel"], color="0.6", ls=":", label="eps_rel")
    left.set(xlabel="t", ylabel="e_tr (lz2)", title=f"gamma0 = {params['gamma0']:.4g}, tau = 1")
    left.legend(fontsize="small")
    ok = np.isfinite(t_rel)
    if np.isfinite(fit["alpha_star"]):
        gap = fit["alpha_star"] - alphas[ok]
        right.loglog(gap, t_rel[ok], "o", label="lz2")
        grid = np.geomspace(max(gap.min(), 1e-4), max(gap.max(), 2e-4), 50)
        right.loglog(grid, fit["c"] * grid ** -2.0, label=f"c (alpha* - alpha)^-2, alpha* = {fit['alpha_star']:.4f}")
        right.legend(fontsize="small")
    right.set(xlabel="alpha* - alpha", ylabel="t_rel", title="relaxation time")
    fig.suptitle(f"interpolation threshold of the lz2 equations, h = {params['h']}, eps_rel = {params['eps_rel']:g}")
    return fig
