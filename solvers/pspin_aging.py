"""Tool ``aging`` of model ``pspin``: C(t_w + tau, t_w) for several waiting times in one figure
(pspin.md, check 3).  Below T_d the curves do not collapse: the plateau (near q_d for T just
below T_d) lengthens with t_w and the decay from it happens on a scale that grows with t_w;
above T_d they coincide (time-translation invariance).  Solved with the long-time scheme.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from dmft import api
from dmft.model import Param
from dmft.store import write_table

PARAMETERS = (
    Param("p", int, 3, "pure p-spin degree", low=3),
    Param("T", float, 0.5, "temperature (aging below T_d; T_d = 0.612 for p = 3)", low=0),
    Param("t_w", tuple, (8.0, 32.0, 128.0, 512.0), "waiting times"),
    Param("t_max", float, 2048.0, "final time", low=0, low_open=True),
    Param("dt", float, 0.1, "time step", low=0, low_open=True),
    Param("eps", float, 0.05, "relative spacing of the compressed history", low=0, low_open=True, high=0.5),
)


def aging(p, directory: Path, command: str) -> list[Path]:
    """Write aging.h5 (t, energy, mu, C_tw=<t_w> on the step grid) and aging.png."""
    result = api.solve("pspin", p=p["p"], T=p["T"], t_w=p["t_w"], t_max=p["t_max"], dt=p["dt"],
                       scheme="long-time", eps=p["eps"], progress=True)
    names = [f"C_tw={tw:g}" for tw in p["t_w"]]
    data = {"t": result.t, "energy": result["energy"], "mu": result["mu"],
            **{name: result[name] for name in names}}
    table = directory / "aging.h5"
    write_table(table, "pspin", "aging", p, command, data, status=result.solver["status"])
    figure = directory / "aging.png"
    _figure(p, result, names).savefig(figure, dpi=90)
    return [table, figure]


def _figure(p, result, names) -> Figure:
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    for tw, name in zip(p["t_w"], names):
        i = int(np.argmin(np.abs(result.t - tw)))
        lag = result.t[i + 1:] - result.t[i]
        left.semilogx(lag, result[name][i + 1:], label=f"t_w = {tw:g}")
    if p["p"] > 2:
        left.axhline((p["p"] - 2) / (p["p"] - 1), color="0.6", ls=":", label="q_d (plateau at T_d)")
    left.set(xlabel="tau = t - t_w", ylabel="C(t_w + tau, t_w)", ylim=(0, 1.02),
             title=f"p = {p['p']}, T = {p['T']:g}: aging")
    left.legend(fontsize="small")
    right.semilogx(result.t[1:], result["energy"][1:], label="energy e(t)")
    right.set(xlabel="t", ylabel="e(t)", title="energy after the quench")
    fig.suptitle(f"spherical p-spin quench, long-time scheme (dt = {p['dt']:g}, eps = {p['eps']:g})")
    return fig
