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

Tool ``frozen-threshold`` (App. H, two_layer.md §4.6): the second layer frozen at a = 1, alpha_bar = n/d
fixed, pure noise. Interpolation takes a time Theta(m), so finite-m SymmDMFT is run in the reduced time
t/m with the step dt = m * (dt/m); it converges to the App. H equations at rate O(1/m), and at
m = 1024 it is the limit to ~1e-3 (measured: e_tr at m = 64 and 1024 differ by 2% at t/m = 0.75). For
each m, t_rel(alpha_bar)/m is fitted by the same c (alpha_bar_GF(m) - alpha_bar)^(-2); with several m,
alpha_bar_GF(m) is extrapolated linearly in 1/m.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy.optimize import curve_fit

from dmft import api
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

FROZEN_PARAMETERS = (
    Param("alpha_bar", tuple, (0.6, 0.7, 0.8, 0.9), "alpha_bar = n/d values to scan (comma list)"),
    Param("m", tuple, (1024,), "widths (comma list; two or more: alpha_bar_GF extrapolated in 1/m)"),
    Param("h", tuple, (0.3, 0.5), "coefficients h_1, h_2, ... of h(q)"),
    Param("tau", float, 1.0, "label-noise standard deviation", low=0, low_open=True),
    Param("eps_rel", float, 1e-7, "relaxation level: t_rel = inf{t : e_tr < eps_rel tau^2}", low=0, low_open=True,
          high=1, high_open=True),
    Param("t_max", float, 120.0, "final reduced time t/m of each run", low=0, low_open=True),
    Param("dt", float, 0.1, "reduced time step dt/m (0.1 resolves e_tr to ~1e-8; at 0.2 its floor ~1e-7 biases "
          "t_rel by up to 13%)", low=0, low_open=True),
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
    alphas = _positive(params, "alpha")
    runs = [_lz2(params, alpha) for alpha in alphas]
    t, curves, t_rel = _relaxation(runs, params["eps_rel"], 1.0)
    fit = fit_threshold(alphas, t_rel)
    table = directory / "threshold.h5"
    write_table(table, "two-layer", "threshold", params, command,
                {"alpha": alphas, "t_rel": t_rel, "t": t, "train_error": curves},
                **{k: float(v) for k, v in fit.items()},
                status="; ".join(f"alpha={a:g}: {r.solver['status']}" for a, r in zip(alphas, runs)))
    figure = directory / "threshold.png"
    fig, (left, right) = _figure()
    _panels(left, right, "alpha", alphas, runs, t_rel, fit, params["eps_rel"], 1.0)
    left.set_title(f"gamma0 = {params['gamma0']:.4g}, tau = 1")
    fig.suptitle(f"interpolation threshold of the lz2 equations, h = {params['h']}, eps_rel = {params['eps_rel']:g}")
    fig.savefig(figure, dpi=90)
    return [table, figure]


def frozen_threshold(params, directory: Path, command: str) -> list[Path]:
    """Write frozen_threshold.h5 (per m: t_rel/m against alpha_bar, alpha_bar_GF(m) and the free-exponent fit;
    alpha_bar_GF_inf from a fit in 1/m when several m are given) and frozen_threshold.png."""
    alpha_bars = _positive(params, "alpha_bar")
    widths = np.asarray(sorted(params["m"]), dtype=float)
    if np.any(widths < 2) or np.any(widths != np.round(widths)):
        raise ParameterError(f"parameter 'm' must hold integer widths >= 2 (got {params['m']})")
    widths = widths.astype(int)
    plans = {m: [_frozen(params, m, alpha_bar) for alpha_bar in alpha_bars] for m in widths}  # all checked first
    level = params["eps_rel"] * params["tau"] ** 2
    fits, t_rels, statuses, last = [], [], [], None
    for m in widths:
        runs = [api.solve("two-layer", progress=True, **given) for given in plans[m]]
        t, curves, t_rel = _relaxation(runs, level, float(m))
        fits.append(fit_threshold(alpha_bars, t_rel))
        t_rels.append(t_rel)
        statuses += [f"m={m} alpha_bar={a:g}: {r.solver['status']}" for a, r in zip(alpha_bars, runs)]
        last = (m, runs, t, curves, t_rel)
    m, runs, t, curves, t_rel = last
    per_m = {key: np.array([f[key] for f in fits]) for key in fits[0]}
    star = per_m["alpha_star"]
    ok = np.isfinite(star)
    inf = float(np.polyfit(1.0 / widths[ok], star[ok], 1)[1]) if ok.sum() >= 2 else float("nan")
    table = directory / "frozen_threshold.h5"
    write_table(table, "two-layer", "frozen-threshold", params, command,
                {"alpha_bar": alpha_bars, "m": widths, "t_rel": np.array(t_rels), "t": t, "train_error": curves,
                 **{f"{key}_per_m": value for key, value in per_m.items()}},
                alpha_bar_GF_inf=inf, alpha_bar_GF=float(star[-1]),
                status="; ".join(statuses))
    figure = directory / "frozen_threshold.png"
    fig, (left, right) = _figure()
    _panels(left, right, "alpha_bar", alpha_bars, runs, t_rel, fits[-1], level, float(m))
    left.set_title(f"a = 1 frozen, m = {m}, tau = {params['tau']:g}")
    extra = f", alpha_bar_GF(inf) = {inf:.4f}" if np.isfinite(inf) else ""
    fig.suptitle(f"App. H interpolation threshold, h = {params['h']}: alpha_bar_GF(m = {m}) = {star[-1]:.4f}{extra}")
    fig.savefig(figure, dpi=90)
    return [table, figure]


def _positive(params, name) -> np.ndarray:
    values = np.asarray(sorted(params[name]), dtype=float)
    if np.any(values <= 0):
        raise ParameterError(f"parameter '{name}' must hold values > 0 (got {params[name]})")
    return values


def _relaxation(runs, level: float, unit: float):
    """Common reduced time axis t/unit (the longest run's), e_tr per run (NaN-padded) and t_rel/unit per run."""
    longest = runs[int(np.argmax([len(r.t) for r in runs]))]
    curves = np.full((len(runs), len(longest.t)), np.nan)
    for k, r in enumerate(runs):
        curves[k, : len(r.t)] = r["train_error"]
    t_rel = np.array([relaxation_time(r.t / unit, r["train_error"], level) for r in runs])
    return longest.t / unit, curves, t_rel


def _lz2(params, alpha):
    given = {"m": 1, "alpha": alpha, "tau": 1.0, "h": params["h"], "target": "noise", "init": "lazy",
             "gamma0": params["gamma0"], "train_a": False, "t_max": params["t_max"], "dt": params["dt"],
             "scheme": params["scheme"], "eps": params["eps"]}
    p = resolve(two_layer.TwoLayer.parameters, given, "tool 'threshold'")
    p["method"] = "lz2"
    return two_layer_limits.solve(p, Run(f"threshold-{alpha}", progress=True, description=f"lz2 alpha={alpha:g}"))


def _frozen(params, m, alpha_bar) -> dict:
    """The parameters of one App. H run (SymmDMFT, a = 1 frozen, pure noise, times t/m scaled by m), checked."""
    given = {"m": int(m), "alpha_bar": alpha_bar, "tau": params["tau"], "h": params["h"], "target": "noise",
             "init": "mf", "a0": 1.0, "train_a": False, "t_max": params["t_max"] * m, "dt": params["dt"] * m}
    api.check_params("two-layer", **given)
    return given


def _figure():
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    return fig, fig.subplots(1, 2)


def _panels(left, right, name, values, runs, t_rel, fit, level, unit):
    """e_tr against t/unit per scanned value (left); t_rel against the distance to the fitted threshold with
    the exponent-2 law (right)."""
    for value, r in zip(values, runs):
        left.semilogy(r.t / unit, np.clip(r["train_error"], 1e-16, None), label=f"{name} = {value:g}")
    left.axhline(level, color="0.6", ls=":", label="eps_rel tau^2")
    left.set(xlabel="t" if unit == 1 else "t / m", ylabel="e_tr")
    left.legend(fontsize="small")
    ok = np.isfinite(t_rel)
    if np.isfinite(fit["alpha_star"]):
        gap = fit["alpha_star"] - values[ok]
        right.loglog(gap, t_rel[ok], "o", label="measured")
        grid = np.geomspace(max(gap.min(), 1e-4), max(gap.max(), 2e-4), 50)
        right.loglog(grid, fit["c"] * grid ** -2.0, label=f"c ({name}* - {name})^-2, {name}* = {fit['alpha_star']:.4f}")
        right.legend(fontsize="small")
    right.set(xlabel=f"{name}* - {name}", ylabel="t_rel" if unit == 1 else "t_rel / m", title="relaxation time")
