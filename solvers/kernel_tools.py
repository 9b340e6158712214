"""Tools of model ``kernel`` (``dmft tool kernel NAME key=value -o DIR``).

``stages``: the three stages in one figure (kernel.md sections 1 and 5): DMFT train and test,
the exact oracle curve and, with seeds > 0, the kernel simulation (mean +- stderr), on a log
time axis with the time scales tau_l = 1/xi_l and tau_int = n/h_{>L}; a second panel shows
the learned fractions.  Writes stages.h5 (table) and stages.png.  The numbers behind the
picture (``stage_checks``):
  stage1_gap        max (test - train)/test for t <= tau_int/10  (train and test together)
  t_2               first time with train <= 1e-2 test             (train -> 0 ...)
  stage2_oracle_gap |test - oracle|/oracle at t_2                  (... test ~ oracle)
  stage2_end        t_2 / tau_{L+1}                                (how much of degree L+1 the oracle has)
  stage3_gap        (test - oracle)/oracle at t_max               (oracle below frozen test)

``two-kernels``: kernel A (the model's h) and B = A + c P_k (k = boost_degree > L + 1; adds
exactly c to xi_{d,k} B(d,k), so h_{>L} grows by c and no low-degree eigenvalue moves), with
optionally mass_L of B scaled by low_scale (B then generalises worse).  B interpolates earlier
by the factor h^B_{>L}/h^A_{>L} (section 5.6) but its test error is not lower.  Writes
two_kernels.h5 and two_kernels.png; ``two_kernel_summary`` gives
  fit_time_A, fit_time_B  first t with train <= FIT_FRACTION x train(0)
  speedup, predicted      fit_time_A/fit_time_B and h^B_{>L}/h^A_{>L}
  test_advantage_B        max_t (test_A - test_B)/test_A (small: B never generalises clearly better;
                          measured 1.2% at d=100, n=1000: B's larger implicit ridge trims the variance)
  test_deficit_B          max_t (test_B - test_A)/test_A (large with low_scale < 1)
"""
from __future__ import annotations

import json

import numpy as np
from matplotlib.figure import Figure

from dmft.model import Param, ParameterError
from dmft.run import Run
from dmft.store import write_table

from . import kernel_curves as curves
from .kernel_spectrum import Kernel, Spectrum
from .kernel_stages import diagnostics

FIT_FRACTION = 1e-2

SIMULATION = (
    Param("seeds", int, 0, "kernel-simulation realisations overlaid (0: theory only)", low=0),
    Param("seed", int, 0, "base seed of the simulation", low=0),
)
TWO_KERNELS = (
    Param("boost_degree", int, 0, "degree k of the Gegenbauer term c P_k added to h (0: L + 2)", low=0),
    Param("boost", float, 1.0, "its coefficient c (adds c to xi_{d,k} B(d,k))", low=0, low_open=True),
    Param("low_scale", float, 1.0, "factor on xi_{d,L} of kernel B (< 1: B also generalises worse)",
          low=0, high=1, low_open=True),
)


def _simulate(p, kernel, seeds, seed):
    """Kernel simulation of the parameters with ``kernel`` (Result: mean and stderr)."""
    from validation.kernel import KernelSimulator
    return KernelSimulator().simulate(p, p["d"], seeds, seed, Run("kernel-tool"), kernel=kernel)


def _prepare(p):
    model = {q.name: p[q.name] for q in curves.PARAMETERS}
    curves.check(model)
    return model


def stage_checks(result, diag) -> dict:
    """The numbers behind the three-stage figure (module docstring)."""
    t, test, train, oracle = (result.t, result["test_error"], result["train_error"], result["oracle_test"])
    early = (t > 0) & (t <= diag["tau_int"] / 10)
    fitted = np.flatnonzero(train <= 1e-2 * test)
    i = fitted[0] if len(fitted) else len(t) - 1
    return {"stage1_gap": float(np.max((test - train)[early] / test[early])) if early.any() else np.nan,
            "t_2": float(t[i]), "stage2_oracle_gap": float(abs(test[i] - oracle[i]) / oracle[i]),
            "stage2_end": float(t[i] / diag[f"tau_{diag['L'] + 1}"]),
            "stage3_gap": float((test[-1] - oracle[-1]) / oracle[-1])}


def _time_axis(ax, diag, L, t_max):
    for l in range(1, L + 2):
        tau = diag[f"tau_{l}"]
        if tau < t_max:
            ax.axvline(tau, color="0.5", ls=":", lw=1)
            ax.text(tau, 1.0, f" tau_{l}", transform=ax.get_xaxis_transform(), va="top", fontsize="small")
    ax.axvline(diag["tau_int"], color="0.3", ls="--", lw=1)
    ax.text(diag["tau_int"], 0.93, " tau_int", transform=ax.get_xaxis_transform(), va="top", fontsize="small")
    ax.set_xscale("log")


def _stages_figure(p, result, diag, checks, sim) -> Figure:
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    t = result.t[1:]
    L = diag["L"]
    bounds = [t[0], diag["tau_int"], diag[f"tau_{L + 1}"], t[-1]]
    for k, color in enumerate(("#e8f0ff", "#fff3e0", "#eaf7ea")):
        lo, hi = max(bounds[k], t[0]), min(bounds[k + 1], t[-1])
        if lo < hi:
            left.axvspan(lo, hi, color=color, zorder=0)
            left.text(np.sqrt(lo * hi), 0.02, f"stage {k + 1}", transform=left.get_xaxis_transform(),
                      ha="center", fontsize="small")
    left.plot(t, result["oracle_test"][1:], "k-", lw=2, label="oracle test (exact)")
    left.plot(t, result["test_error"][1:], "C0-", label="empirical test (DMFT)")
    left.plot(t, result["train_error"][1:], "C3-", label="empirical train (DMFT)")
    if sim is not None:
        for name, color in (("test_error", "C0"), ("train_error", "C3")):
            left.errorbar(sim.t[1:], sim[name][1:], yerr=sim.stderr(name)[1:], fmt="o", ms=3, color=color,
                          label=f"simulation {name.split('_')[0]} ({sim.simulation['seeds']} seeds)")
    for l in range(len(p["target"]) + 1):
        left.axhline(diag[f"plateau_{l}"], color="0.7", lw=0.8, ls="-.")
    _time_axis(left, diag, L, t[-1])
    left.set(xlabel="t", ylabel="mean squared error", ylim=(0, None),
             title=f"d={p['d']}, n={p['n']}, {p['kernel']} kernel, sigma2={p['sigma2']:g}")
    left.legend(fontsize="x-small", loc="center left")
    for l in range(1, len(p["target"]) + 1):
        right.plot(t, result[f"learned_{l}"][1:], color=f"C{l}", label=f"degree {l} (DMFT)")
        right.plot(t, 1 - np.exp(-t / diag[f"tau_{l}"]), color=f"C{l}", ls="--", label=f"degree {l} (oracle)")
        if sim is not None:
            right.errorbar(sim.t[1:], sim[f"learned_{l}"][1:], yerr=sim.stderr(f"learned_{l}")[1:], fmt="o",
                           ms=3, color=f"C{l}")
    _time_axis(right, diag, L, t[-1])
    right.set(xlabel="t", ylabel="learned fraction <P_l f_t, P_l f*>/|P_l f*|^2", ylim=(-0.05, 1.05),
              title="progressive learning: degree l at t ~ 1/xi_l")
    right.legend(fontsize="x-small")
    fig.suptitle("three stages: " + ", ".join(f"{k}={v:.3g}" for k, v in checks.items()), fontsize="small")
    return fig


def _sim_data(sim) -> dict:
    if sim is None:
        return {}
    return {f"simulation/{k}": v for k, v in sim.observables.items()}


def stages(p, directory, command):
    """Write stages.h5 and stages.png (module docstring)."""
    model = _prepare(p)
    result = curves.solve(model, None)
    _, spectrum = curves.problem(model)
    diag = diagnostics(spectrum, model["n"], model["target"], model["sigma2"])
    checks = stage_checks(result, diag)
    sim = _simulate(model, None, p["seeds"], p["seed"]) if p["seeds"] else None
    data = {"t": result.t, **result.observables, "degrees": spectrum.degrees, "xi": spectrum.xi,
            "multiplicity": spectrum.multiplicity, **_sim_data(sim)}
    table, figure = directory / "stages.h5", directory / "stages.png"
    write_table(table, "kernel", "stages", p, command, data, diagnostics=json.dumps(diag),
                checks=json.dumps(checks), three_stages=result.solver["three_stages"])
    _stages_figure(model, result, diag, checks, sim).savefig(figure, dpi=90)
    return [table, figure]


def kernel_pair(p) -> tuple[Kernel, Kernel, int]:
    """Kernels A (the parameters') and B = A + boost P_k - (1 - low_scale) mass_L P_L, and L."""
    model = _prepare(p)
    kernel_a, spectrum_a = curves.problem(model)
    L = diagnostics(spectrum_a, model["n"], model["target"], model["sigma2"])["L"]
    k = p["boost_degree"] or L + 2
    if k <= L + 1:
        raise ParameterError(f"parameter 'boost_degree' must be > L + 1 = {L + 1} (got {k})")
    boosts = [(k, p["boost"])]
    if p["low_scale"] < 1:
        boosts.append((L, -(1 - p["low_scale"]) * float(kernel_a.mass(model["d"], [L])[0])))
    return kernel_a, Kernel(kernel_a.name, kernel_a.coefficients, tuple(boosts)), L


def fit_time(t, train) -> float:
    """First time with train <= FIT_FRACTION train(0), log-interpolated (inf if never)."""
    level = FIT_FRACTION * train[0]
    below = np.flatnonzero(train <= level)
    if not len(below):
        return np.inf
    i = below[0]
    x = np.interp(np.log(level), np.log(train[[i, i - 1]]), np.log(t[[i, i - 1]]))
    return float(np.exp(x))


def two_kernel_summary(p, results, L) -> dict:
    """Fit times, speed-up against h^B_{>L}/h^A_{>L}, and B's best test advantage."""
    (ra, sa), (rb, sb) = results
    ta, tb = fit_time(ra.t, ra["train_error"]), fit_time(rb.t, rb["train_error"])
    return {"L": L, "h_gt_L_A": sa.mass_above(L), "h_gt_L_B": sb.mass_above(L), "fit_time_A": ta,
            "fit_time_B": tb, "speedup": ta / tb, "predicted": sb.mass_above(L) / sa.mass_above(L),
            "test_advantage_B": float(np.max((ra["test_error"] - rb["test_error"]) / ra["test_error"])),
            "test_deficit_B": float(np.max((rb["test_error"] - ra["test_error"]) / ra["test_error"]))}


def two_kernels(p, directory, command):
    """Write two_kernels.h5 and two_kernels.png (module docstring)."""
    model = _prepare(p)
    kernel_a, kernel_b, L = kernel_pair(p)
    results = []
    for kernel in (kernel_a, kernel_b):
        spectrum = Spectrum(model["d"], kernel)
        if np.any(spectrum.mass < 0):
            raise ParameterError("parameter 'low_scale' makes an eigenvalue of kernel B negative")
        t = curves.output_times(model)
        c, status = curves.empirical_curves(spectrum, model["n"], list(model["target"]), model["sigma2"],
                                            t, model["talbot"])
        results.append((_Curves(t[: len(c["test_error"])], c), spectrum))
    summary = two_kernel_summary(p, results, L)
    sims = [_simulate(model, k, p["seeds"], p["seed"]) for k in (kernel_a, kernel_b)] if p["seeds"] else []
    data = {"t": results[0][0].t}
    for label, (r, s) in zip("AB", results):
        data.update({f"{label}/train_error": r["train_error"], f"{label}/test_error": r["test_error"],
                     f"{label}/xi": s.xi, f"{label}/degrees": s.degrees})
    for label, sim in zip("AB", sims):
        data.update({f"{label}/simulation/{k}": v for k, v in sim.observables.items()})
    table, figure = directory / "two_kernels.h5", directory / "two_kernels.png"
    write_table(table, "kernel", "two-kernels", p, command, data, summary=json.dumps(summary))
    _two_kernel_figure(model, results, sims, summary).savefig(figure, dpi=90)
    return [table, figure]


class _Curves:
    """Minimal result-like view (t and curves by name) of ``empirical_curves``."""

    def __init__(self, t, c):
        self.t, self._c = t, c

    def __getitem__(self, name):
        return self._c[name]


def _two_kernel_figure(p, results, sims, summary) -> Figure:
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for label, color, (r, _) in zip("AB", ("C0", "C3"), results):
        ax.plot(r.t[1:], r["test_error"][1:], color=color, label=f"kernel {label} test (DMFT)")
        ax.plot(r.t[1:], r["train_error"][1:], color=color, ls="--", label=f"kernel {label} train (DMFT)")
    for label, color, sim in zip("AB", ("C0", "C3"), sims):
        for name in ("test_error", "train_error"):
            ax.errorbar(sim.t[1:], sim[name][1:], yerr=sim.stderr(name)[1:], fmt="o", ms=3, color=color)
    for label, color in (("A", "C0"), ("B", "C3")):
        ax.axvline(summary[f"fit_time_{label}"], color=color, ls=":", lw=1)
    ax.set(xscale="log", xlabel="t", ylabel="mean squared error", ylim=(0, None),
           title=(f"faster training is not better generalisation: B fits {summary['speedup']:.2f}x earlier "
                  f"(h_>L ratio {summary['predicted']:.2f}),\nB's best test advantage "
                  f"{100 * summary['test_advantage_B']:.2g}%   (d={p['d']}, n={p['n']})"))
    ax.title.set_fontsize("small")
    ax.legend(fontsize="x-small")
    return fig


TOOLS = {
    "stages": ("the three stages in one figure: DMFT train/test, exact oracle, time scales "
               "(+ kernel simulation with seeds > 0)", curves.PARAMETERS + SIMULATION, stages),
    "two-kernels": ("two kernels with the same low-degree eigenvalues and different high-degree mass: "
                    "the faster-training one does not generalise better",
                    curves.PARAMETERS + TWO_KERNELS + SIMULATION, two_kernels),
}
