"""Phase diagram of the linear network (linear_network.md sections 4-6), exact at finite width.

For a grid of output scales kappa and initialisation scales sigma (sigma_u = sigma_w = sigma;
one fixed draw of standard normals, rescaled, so the diagram is smooth), and for each ratio of
learning rates eta_w/eta_u (eta_u = 1), the closed form gives without integration:

  kernel change  K_inf/K_0 = sqrt(C + a c^2)/K_0   (kernel phase: |K_inf/K_0 - 1| < kernel_threshold)
  alignment      zeta_inf = sign(c) sqrt(S^2/(S^2 + Omega)),  S = c/kappa
  mechanism      the change of ln|F| splits exactly into d ln|zeta| + d ln(|u||w|); the larger
                 part names it: alignment (|zeta| grows), disalignment (|zeta| falls) or
                 rescaling (the norms carry it).

The large-width boundary chi = 1, chi = rho^2 4 lambda'/(1 + lambda')^2 with
rho = |c|/(kappa d sigma^2) and lambda' = eta_w/eta_u, is drawn over it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from dmft.model import Param
from dmft.store import write_table

from .linear_network_exact import phase_summary

MECHANISMS = ("alignment", "disalignment", "rescaling")

PARAMETERS = (
    Param("width", int, 1000, "number of hidden units d", low=1),
    Param("c", float, 1.0, "target slope"),
    Param("seed", int, 0, "seed of the standard normals of the initialisation", low=0),
    Param("kappa_min", float, 1e-4, "smallest output scale", low=0, low_open=True),
    Param("kappa_max", float, 10.0, "largest output scale", low=0, low_open=True),
    Param("sigma_min", float, 1e-3, "smallest initialisation scale", low=0, low_open=True),
    Param("sigma_max", float, 10.0, "largest initialisation scale", low=0, low_open=True),
    Param("points", int, 41, "grid points per axis (log-spaced)", low=2),
    Param("ratios", tuple, (0.01, 1.0, 100.0), "learning-rate ratios eta_w/eta_u (eta_u = 1)"),
    Param("kernel_threshold", float, 0.1, "kernel phase if |K_inf/K_0 - 1| < this", low=0, low_open=True),
)


def compute(p) -> dict[str, np.ndarray]:
    """Exact phase quantities on the (ratio, kappa, sigma) grid."""
    rng = np.random.default_rng(np.random.SeedSequence([p["seed"]]))
    gu, gw = rng.standard_normal(p["width"]), rng.standard_normal(p["width"])
    kappa = np.geomspace(p["kappa_min"], p["kappa_max"], p["points"])
    sigma = np.geomspace(p["sigma_min"], p["sigma_max"], p["points"])
    ratios = np.array(p["ratios"])
    shape = (len(ratios), len(kappa), len(sigma))
    out = {k: np.empty(shape) for k in ("kernel_ratio", "zeta_0", "zeta_inf", "chi")}
    out["mechanism"] = np.empty(shape, dtype=int)
    c = p["c"]
    for i, ratio in enumerate(ratios):
        for j, k in enumerate(kappa):
            for l, s in enumerate(sigma):
                u0, w0 = s * gu, s * gw
                summary = phase_summary(u0, w0, k, c, 1.0, ratio)
                out["kernel_ratio"][i, j, l] = summary["kernel_ratio"]
                out["zeta_0"][i, j, l] = summary["zeta_0"]
                out["zeta_inf"][i, j, l] = summary["zeta_inf"]
                d_zeta = np.log(abs(summary["zeta_inf"]) / abs(summary["zeta_0"]))
                d_norm = np.log(summary["norm_inf"] / summary["norm_0"])
                out["mechanism"][i, j, l] = (2 if abs(d_norm) > abs(d_zeta) else 0 if d_zeta > 0 else 1)
                rho = abs(c) / (k * p["width"] * s**2)
                out["chi"][i, j, l] = rho**2 * 4 * ratio / (1 + ratio) ** 2
    return {"kappa": kappa, "sigma": sigma, "ratios": ratios, **out}


def _figure(p, data) -> Figure:
    ratios, kappa, sigma = data["ratios"], data["kappa"], data["sigma"]
    fig = Figure(figsize=(10, 3.6 * len(ratios)), layout="constrained")
    axes = fig.subplots(len(ratios), 2, squeeze=False)
    extent = (np.log10(sigma[0]), np.log10(sigma[-1]), np.log10(kappa[0]), np.log10(kappa[-1]))
    for i, ratio in enumerate(ratios):
        left, right = axes[i]
        change = np.log10(data["kernel_ratio"][i])
        image = left.imshow(change, origin="lower", extent=extent, aspect="auto", cmap="RdBu_r",
                            vmin=-np.max(np.abs(change)), vmax=np.max(np.abs(change)))
        fig.colorbar(image, ax=left, label="log10 K_inf/K_0")
        lazy = np.abs(data["kernel_ratio"][i] - 1) < p["kernel_threshold"]
        left.contour(np.log10(sigma), np.log10(kappa), lazy.astype(float), levels=[0.5], colors="k")
        left.contour(np.log10(sigma), np.log10(kappa), np.log10(data["chi"][i]), levels=[0.0],
                     colors="k", linestyles="--")
        left.set(xlabel="log10 sigma", ylabel="log10 kappa", title=f"eta_w/eta_u = {ratio:g}: kernel change")
        colors = colormaps["Set2"]                      # 8 colours: code k -> colour k
        right.imshow(data["mechanism"][i], origin="lower", extent=extent, aspect="auto", cmap=colors,
                     vmin=0, vmax=7)
        lines = right.contour(np.log10(sigma), np.log10(kappa), np.abs(data["zeta_inf"][i]),
                              levels=[0.1, 0.5, 0.9], colors="k", linewidths=0.8)
        right.clabel(lines, fmt="|zeta_inf|=%.1f", fontsize="x-small")
        for code, label in enumerate(MECHANISMS):
            right.scatter([], [], marker="s", color=colors(code), label=label)
        right.legend(fontsize="small", loc="lower left")
        right.set(xlabel="log10 sigma", ylabel="log10 kappa", title=f"eta_w/eta_u = {ratio:g}: mechanism")
    fig.suptitle(f"linear network, width {p['width']}, c = {p['c']:g}\nleft: solid = edge of the kernel "
                 f"phase (|K_inf/K_0 - 1| = {p['kernel_threshold']:g}), dashed = chi = 1 (large width)")
    return fig


def phase_diagram(p, directory: Path, command: str) -> list[Path]:
    """Write phase_diagram.h5 (the grid and every array) and phase_diagram.png."""
    data = compute(p)
    table = directory / "phase_diagram.h5"
    write_table(table, "linear-network", "phase-diagram", p, command, data,
                mechanisms=json.dumps(MECHANISMS))
    figure = directory / "phase_diagram.png"
    _figure(p, data).savefig(figure, dpi=90)
    return [table, figure]
