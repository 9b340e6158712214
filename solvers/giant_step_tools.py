"""Tools of ``giant-step``: the authors' notebook protocol (giant steps + ridge readout,
solvers.giant_step_network.notebook_protocol) at batch sizes n = floor(d^exponent).

* ``ridge-readout``: test error (mean and population std, ddof = 0, over ``reps``) after
  ``steps`` steps, per exponent.  Defaults: the published single-step point d = 512, p = 1024,
  eta = 10 sqrt(n p), ridge 1, n = d^1.3 (published 0.3360 +- 0.0063).
* ``batch-sweep``: the test error after 1..``steps`` steps against log n / log d (the figure of
  the repository's summary), with the levels E[y^2] and E[y^2] - |C_1|^2 (best linear predictor).

Random draws: the fixed draws (teacher, W^0, a) from SeedSequence([seed]); repetition k at batch
size n from SeedSequence([seed, n, k]).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from dmft.model import Param, ParameterError
from dmft.store import write_table

from .giant_step_hermite import ACTIVATIONS, NAMED_TARGETS, activation_code, make_target
from .giant_step_network import notebook_protocol


def _parameters(d, p, exponents, steps, reps, n_test):
    return (
        Param("d", int, d, "input dimension", low=2),
        Param("p", int, p, "width", low=1),
        Param("exponents", tuple, exponents, "batch sizes n = floor(d^exponent)"),
        Param("steps", int, steps, "giant steps (fresh batch each)", low=1, high=20),
        Param("reps", int, reps, "repetitions with fresh data", low=1),
        Param("n_test", int, n_test, "test samples", low=10),
        Param("eta", float, 10.0, "learning-rate constant: eta_full = eta sqrt(n p)", low=0, low_open=True),
        Param("ridge", float, 1.0, "ridge penalty of the readout", low=0, low_open=True),
        Param("activation", str, "relu", "student activation", choices=ACTIVATIONS),
        Param("target", str, "notebook", "target", choices=NAMED_TARGETS),
        Param("seed", int, 0, "base seed", low=0),
    )


def errors(p) -> dict[str, np.ndarray]:
    """Per exponent, repetition and step: test and train errors (arrays (E, reps, steps))."""
    target, code = make_target(p["target"]), activation_code(p["activation"])
    n = np.array([int(np.floor(p["d"] ** e + 1e-9)) for e in p["exponents"]])
    if not np.all(np.array(p["exponents"]) > 0):
        raise ParameterError(f"parameter 'exponents' must be > 0 (got {p['exponents']})")
    shape = (len(n), p["reps"], p["steps"])
    test, train = np.empty(shape), np.empty(shape)
    for i, size in enumerate(n):
        for k in range(p["reps"]):
            fixed = np.random.default_rng(np.random.SeedSequence([p["seed"]]))
            rng = np.random.default_rng(np.random.SeedSequence([p["seed"], int(size), k]))
            test[i, k], train[i, k] = notebook_protocol(fixed, rng, target, p["d"], p["p"], int(size),
                                                        p["steps"], code, p["eta"], p["ridge"], p["n_test"])
    ey2 = target.second_moment - target.mean**2
    return {"exponent": np.array(p["exponents"]), "n": n, "test_error": test, "train_error": train,
            "test_mean": test.mean(axis=1), "test_std": test.std(axis=1),
            "trivial_error": np.array(ey2), "linear_error": np.array(ey2 - np.sum(target.C1() ** 2))}


def ridge_readout(p, directory: Path, command: str) -> list[Path]:
    """Write ridge_readout.h5 (datasets of ``errors``) and print the summary line per exponent."""
    data = errors(p)
    path = directory / "ridge_readout.h5"
    write_table(path, "giant-step", "ridge-readout", p, command, data, seed=p["seed"])
    for e, n, m, s in zip(data["exponent"], data["n"], data["test_mean"][:, -1], data["test_std"][:, -1]):
        print(f"n = d^{e:g} = {n}: test error after {p['steps']} step(s) {m:.4f} +- {s:.4f} "
              f"(mean +- std over {p['reps']} reps)")
    return [path]


def batch_sweep(p, directory: Path, command: str) -> list[Path]:
    """Write batch_sweep.h5 and batch_sweep.png (test error against log n / log d, 1..steps)."""
    data = errors(p)
    table = directory / "batch_sweep.h5"
    write_table(table, "giant-step", "batch-sweep", p, command, data, seed=p["seed"])
    fig = Figure(figsize=(5.5, 4), layout="constrained")
    ax = fig.add_subplot()
    x = np.log(data["n"]) / np.log(p["d"])
    for t in range(p["steps"]):
        ax.errorbar(x, data["test_mean"][:, t], yerr=data["test_std"][:, t], marker="o", capsize=2,
                    label=f"{t + 1} step{'s' if t else ''}")
    ax.axhline(float(data["trivial_error"]), color="k", ls=":", label="E[y^2] (trivial)")
    ax.axhline(float(data["linear_error"]), color="gray", ls="--", label="best linear")
    ax.set(xlabel="log n / log d", ylabel="test error (MSE)",
           title=f"giant steps + ridge readout: d={p['d']}, p={p['p']}, {p['target']}, {p['reps']} reps")
    ax.legend(fontsize="small")
    figure = directory / "batch_sweep.png"
    fig.savefig(figure, dpi=90)
    return [table, figure]


TOOLS = {
    "ridge-readout": ("test error of one (or a few) giant steps + ridge readout, notebook protocol",
                      _parameters(512, 1024, (1.3,), 1, 10, 100000), ridge_readout),
    "batch-sweep": ("figure: test error against log n / log d after 1..steps giant steps",
                    _parameters(128, 256, (1.0, 1.25, 1.5, 1.75, 2.0), 4, 2, 20000), batch_sweep),
}
