"""Tool ``phenomena`` of model ``two-layer``: the paper's main claims in one table and figure
(two_layer.md §7.6), from SymmDMFT with mean-field initialisation, single index, at several m
to t = horizon * m (long-time scheme), plus lazy fixed-second-layer runs:

* non-monotone test error whose minimum approaches the Bayes error tau^2/2 as m grows;
* overfitting onset proportional to m (the minimum sits at a fixed t/m; curves collapse in t/m);
* gamma = a/sqrt(m) rising on the t ~ m scale (towards the interpolation threshold);
* a v -> 1 late (sqrt(m) v ~ 1/gamma);
* the test-train gap against gamma close to the lazy fixed-gamma curve.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from dmft import api
from dmft.model import Param
from dmft.store import write_table

PARAMETERS = (
    Param("widths", tuple, (16.0, 32.0, 64.0), "widths m (mean-field runs)"),
    Param("alpha", float, 0.3, "n/(m d)", low=0, low_open=True),
    Param("tau", float, 0.3, "label-noise standard deviation", low=0, low_open=True),
    Param("h", tuple, (0.9, 0.0, 1.0 / 6.0), "coefficients of h(q) (= phihat: teacher = student activation)"),
    Param("horizon", float, 12.0, "final time in units of m", low=0, low_open=True),
    Param("dt", float, 0.2, "time step", low=0, low_open=True),
    Param("eps", float, 0.1, "relative spacing of the compressed history", low=0, low_open=True, high=0.5),
    Param("gammas", tuple, (0.2, 0.3, 0.4, 0.5), "lazy fixed-second-layer runs: gamma0 values"),
    Param("lazy_t_max", float, 200.0, "lazy runs: final time", low=0, low_open=True),
    Param("sgd_seeds", int, 0, "also run SGD on the real network (d = sgd_d, batch 100, lr 0.1) at the "
          "smallest width with this many seeds (0: no simulation)", low=0),
    Param("sgd_d", int, 200, "dimension of the SGD simulation", low=2),
)


def _common(p):
    return dict(alpha=p["alpha"], tau=p["tau"], h=p["h"], target="single-index", scheme="long-time",
                eps=p["eps"])


def phenomena(p, directory: Path, command: str) -> list[Path]:
    """Write phenomena.h5 (curves per m, lazy fixed-gamma points, summary) and phenomena.png."""
    runs = {}
    for m in (int(w) for w in p["widths"]):
        runs[m] = api.solve("two-layer", m=m, init="mf", a0=1.0, t_max=p["horizon"] * m, dt=p["dt"],
                            progress=True, **_common(p))
    m_lazy = max(runs)
    lazy = []
    for g in p["gammas"]:
        rate = p["alpha"] * g * g * m_lazy * p["h"][0]
        r = api.solve("two-layer", m=m_lazy, init="lazy", gamma0=g, train_a=False, t_max=p["lazy_t_max"],
                      dt=min(p["dt"], 0.5 / rate), progress=True, **_common(p))
        lazy.append((g, r["test_error"][-1] - r["train_error"][-1], r["train_error"][-1]))
    lazy = np.array(lazy)
    data, rows = {"lazy_gamma": lazy[:, 0], "lazy_gap": lazy[:, 1], "lazy_train_error": lazy[:, 2]}, []
    for m, r in runs.items():
        i_min = int(np.argmin(r["test_error"]))
        for name in ("test_error", "train_error", "gamma", "v", "a"):
            data[f"m{m}/{name}"] = r[name]
        data[f"m{m}/t"] = r.t
        rows.append({"m": m, "min_test_error": float(r["test_error"][i_min]), "t_min_over_m": float(r.t[i_min] / m),
                     "final_test_error": float(r["test_error"][-1]), "final_train_error": float(r["train_error"][-1]),
                     "final_gamma": float(r["gamma"][-1]), "final_a_v": float(r["a"][-1] * r["v"][-1]),
                     "status": r.solver["status"]})
    sgd = None
    if p["sgd_seeds"] > 0:
        m = min(runs)
        sgd = api.simulate("two-layer", m=m, init="mf", a0=1.0, t_max=p["horizon"] * m, dt=p["horizon"] * m / 120,
                           simulation="sgd", sim_step=0.1, batch=100, d=p["sgd_d"], seeds=p["sgd_seeds"],
                           progress=True, **{k: v for k, v in _common(p).items() if k not in ("scheme", "eps")})
        for name in ("test_error", "train_error", "gamma"):
            data[f"sgd_m{m}/{name}"] = sgd[name]
            data[f"sgd_m{m}/{name}_stderr"] = sgd.stderr(name)
        data[f"sgd_m{m}/t"] = sgd.t
    bayes = p["tau"] ** 2 / 2
    for key in rows[0]:
        if key != "status":
            data[f"summary/{key}"] = np.array([row[key] for row in rows])
    summary = "; ".join(f"m={row['m']}: min test {row['min_test_error']:.4f} at t/m={row['t_min_over_m']:.2f}, "
                        f"final test {row['final_test_error']:.4f}, train {row['final_train_error']:.2e}, "
                        f"gamma {row['final_gamma']:.3f}, a v {row['final_a_v']:.3f}" for row in rows)
    table = directory / "phenomena.h5"
    write_table(table, "two-layer", "phenomena", p, command, data, bayes_error=bayes, summary=summary)
    figure = directory / "phenomena.png"
    _figure(p, runs, lazy, bayes, sgd).savefig(figure, dpi=90)
    return [table, figure]


def _figure(p, runs, lazy, bayes, sgd) -> Figure:
    fig = Figure(figsize=(12, 8), layout="constrained")
    (err, gam), (av, gap) = fig.subplots(2, 2)
    for m, r in runs.items():
        x = r.t[1:] / m
        line, = err.semilogx(x, r["test_error"][1:], label=f"test, m = {m}")
        err.semilogx(x, r["train_error"][1:], ls="--", color=line.get_color(), label=f"train, m = {m}")
        gam.semilogx(x, r["gamma"][1:], color=line.get_color(), label=f"m = {m}")
        late = r.t > m
        av.plot(r["gamma"][late], np.sqrt(m) * r["v"][late], color=line.get_color(), label=f"m = {m}")
        gap.plot(r["gamma"][late], (r["test_error"] - r["train_error"])[late], color=line.get_color(),
                 label=f"mean-field init, m = {m}")
    if sgd is not None:
        m = min(runs)
        x = sgd.t[1:] / m
        for ax, names in ((err, ("test_error", "train_error")), (gam, ("gamma",))):
            for name in names:
                ax.errorbar(x, sgd[name][1:], yerr=sgd.stderr(name)[1:], fmt=".", ms=3, color="k", alpha=0.6,
                            label=f"SGD {name}, m = {m}, d = {p['sgd_d']}" if name != "train_error" else None)
    err.axhline(bayes, color="0.5", ls=":", label="Bayes tau^2/2")
    err.set(xlabel="t / m", ylabel="error (1/2 MSE)", title="non-monotone test error, onset ~ m")
    gam.set(xlabel="t / m", ylabel="gamma = a / sqrt(m)", title="complexity grows on t ~ m")
    g = np.linspace(max(0.05, min(float(r["gamma"].min()) for r in runs.values())), max(
        float(r["gamma"].max()) for r in runs.values()), 50)
    av.plot(g, 1 / g, color="0.5", ls=":", label="1 / gamma (a v = 1)")
    av.set(xlabel="gamma", ylabel="sqrt(m) v", title="a v -> 1 (t > m)")
    gap.plot(lazy[:, 0], lazy[:, 1], "ko", label="lazy, a frozen at gamma sqrt(m)")
    gap.set(xlabel="gamma", ylabel="test - train", title="gap vs gamma against the lazy fixed-gamma curve")
    for ax in (err, gam, av, gap):
        ax.legend(fontsize="x-small")
    fig.suptitle(f"two-layer SymmDMFT, mean-field init, single index: alpha = {p['alpha']:g}, tau = {p['tau']:g}, "
                 f"h = {', '.join(f'{c:g}' for c in p['h'])}")
    return fig
