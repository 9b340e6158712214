"""Error budget of the ``two-layer`` Gaussian DMFT against SGD on the real network (issue 4).

At one width m and one setting (e.g. data/examples/two_layer_fig4.toml: single index,
h = phi_hat = 0.9 q + q^3/6, tau = 0.3, alpha = 0.3, a0 = 1, SGD lr = ``sim_step`` = 0.1,
``batch`` = 100), the difference between SGD on the real network at the reference size d0 and the
DMFT splits exactly into four terms, for every observable and recorded time t > 0:

    total = SGD(d0) - DMFT = A(d0) + D + C(d0) + B

  A  sgd_noise   SGD(lr, batch) - GD(eta1), eta1 = lr d/n (the paper time of one SGD step): the same
                 network, training set and W(0) (same seed), mini-batches replaced by the full batch;
  D  gd_step     GD(eta1) - GF: the bias of the discrete step of size eta1 (GF = gradient flow);
  C  finite_d    GF(d0) - GF(d = infinity) on the real network;
  B  gaussian    GF(d = infinity) on the real network - Gaussian DMFT: the Gaussian approximation
                 (two_layer.md §2.6; the DMFT is exact for GD on the Gaussian model as d -> infinity).

Estimators.  GD is run at the step h (``gd_step``) at every size d (GD(h; d)), and at h/2 and 2h at
d0.  Projected GD is the Euler scheme of the projected gradient flow, GD(eta) = GF + c eta + O(eta^2),
so per seed at d0 c = 2 [GD(h) - GD(h/2)] / h, and the ratio [GD(2h) - GD(h)] / [GD(h) - GD(h/2)]
(2 for first order) is reported as ``gd_step_ratio``.  Then

  A(d) = SGD(d) - GD(h; d) + c (h - eta1),   D = c eta1,
  g_inf = intercept of the weighted least-squares fit GD(h; d) = g_inf + b/d over the sizes
          (weights 1/stderr^2; the fit's chi^2 per degree of freedom is reported as ``fit_chi2``),
  C(d) = GD(h; d) - g_inf,   B = g_inf - c h - DMFT,   total = SGD(d0) - DMFT.

With ``gaussian_sizes`` (small d: the degree-3 tensors of the Gaussian model cost n d^3 floats)
also, at each of them,

  gaussian_direct(d) = GD(h; d) - GD_gaussian(h; d)   real network minus Gaussian model, same m, d, seed;
  gaussian_model(d)  = GD_gaussian(h; d) - DMFT        finite d and step O(h) of the Gaussian model.

The DMFT is the uniform-grid solve at ``dmft_dt`` with Richardson extrapolation (error O(dt^3)).
The rows also hold the raw means ``dmft``, ``sgd`` (d), ``gd`` (= GD(h; d)) and ``gd_gaussian_model``
(d).  A run with non-finite values, or with seeds more than OUTLIER robust standard deviations from
the median (SGD at a fixed lr becomes unstable at large d/m^2: a few seeds blow up), is named in
``warnings`` (exit status 1); its means include those seeds.

Errors.  Runs at the same size share their seeds: realisation k of every run at size d draws W(0),
u*, the data and the label noise from ``dmft.simulation.generator(seed, d, k)`` in the same order
(SGD then draws its batches), so differences are taken seed by seed; different sizes are
independent.  Every term is a fixed linear combination of per-seed values at each size plus a
deterministic constant (the DMFT), ``Term``, whose standard error
sqrt(sum_d var_k(combination at d) / seeds_d) is exact given the fit weights.

Command line (prints a JSON table, one row per term, size, observable and time; progress bars on
stderr):

    python -m validation.two_layer_budget run --config data/examples/two_layer_fig4.toml m=16 \\
        t_max=6 dt=1 --sizes 100,200,400 --seeds 64,64,32 --ref 200 \\
        --gaussian-sizes 20,30 --gaussian-seeds 32,32 -o budget_m16.json
    python -m validation.two_layer_budget scaling budget_m16.json budget_m64.json

``scaling`` fits log|term| against log m over the budgets (slope -1: the term falls like 1/m) and
gives the local exponents between consecutive widths.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dmft import api
from dmft.grid import UniformGrid
from dmft.model import ParameterError
from validation.two_layer import resolve

MODEL = "two-layer"
OBSERVABLES = ("test_error", "train_error", "a", "v")
SCALING_TERMS = ("total", "sgd_noise", "gd_step", "finite_d", "gaussian")
OUTLIER = 10.0        # robust standard deviations from the median that flag a seed (``outliers``)


# --------------------------------------------------------------------------- estimates

@dataclass
class Term:
    """const + sum_d mean_k parts[d][k]: per-seed values (seeds, observables, times) at each size
    d plus a deterministic constant (observables, times); sizes are independent."""

    parts: dict[int, np.ndarray] = field(default_factory=dict)
    const: np.ndarray | float = 0.0
    __array_ufunc__ = None          # array * Term is Term.__rmul__, not an elementwise product

    def __add__(self, other: "Term") -> "Term":
        parts = dict(self.parts)
        for d, x in other.parts.items():
            parts[d] = parts[d] + x if d in parts else x
        return Term(parts, self.const + other.const)

    def __rmul__(self, k) -> "Term":
        return Term({d: k * x for d, x in self.parts.items()}, k * self.const)

    def __neg__(self) -> "Term":
        return -1.0 * self

    def __sub__(self, other: "Term") -> "Term":
        return self + (-other)

    @property
    def mean(self) -> np.ndarray:
        return self.const + sum(x.mean(axis=0) for x in self.parts.values())

    @property
    def stderr(self) -> np.ndarray:
        var = sum(x.var(axis=0, ddof=1) / len(x) for x in self.parts.values())
        return np.broadcast_to(np.sqrt(var), np.shape(self.mean))


def intercept(values: dict[int, Term]) -> tuple[Term, np.ndarray]:
    """(g_inf, chi^2 per degree of freedom) of the weighted least-squares fit y(d) = g_inf + b/d,
    weights w_d = 1/stderr_d^2 (equal where an error is zero).  With x = 1/d and S_k = sum w x^k,
    g_inf = sum_d L_d y_d, L_d = w_d (S_2 - S_1 x_d) / (S_0 S_2 - S_1^2): linear in the data."""
    sizes = sorted(values)
    x = {d: 1.0 / d for d in sizes}
    var = np.stack([values[d].stderr ** 2 for d in sizes])
    var[:, np.any(var == 0, axis=0)] = 1.0
    w = dict(zip(sizes, 1.0 / var))
    s0, s1, s2 = (sum(w[d] * x[d] ** k for d in sizes) for k in range(3))
    det = s0 * s2 - s1 * s1
    g = sum(((w[d] * (s2 - s1 * x[d]) / det) * values[d] for d in sizes), Term())
    slope = sum((w[d] * (s0 * x[d] - s1) / det) * values[d].mean for d in sizes)
    chi2 = sum(w[d] * (values[d].mean - g.mean - slope * x[d]) ** 2 for d in sizes)
    return g, chi2 / max(len(sizes) - 2, 1)


# --------------------------------------------------------------------------- the plan

@dataclass
class Plan:
    """What to run: model parameters (``given``, ``config``), GD/SGD sizes and seeds, the reference
    size d0, the Gaussian-model sizes and seeds, the GD step h, the DMFT step, the base seed."""

    given: dict
    sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    ref: int
    gaussian_sizes: tuple[int, ...] = ()
    gaussian_seeds: tuple[int, ...] = ()
    gd_step: float = 0.05
    dmft_dt: float = 0.05
    seed: int = 0
    config: str | None = None

    def runs(self) -> list[tuple[str, float, int, int]]:
        """(simulation, sim_step, d, seeds) of every simulation, in the order they are run."""
        h, lr = self.gd_step, float(self.params()["sim_step"])
        out = [("sgd", lr, d, s) for d, s in zip(self.sizes, self.seeds)]
        out += [("gd", h, d, s) for d, s in zip(self.sizes, self.seeds)]
        s0 = dict(zip(self.sizes, self.seeds))[self.ref]
        out += [("gd", h / 2, self.ref, s0), ("gd", 2 * h, self.ref, s0)]
        for d, s in zip(self.gaussian_sizes, self.gaussian_seeds):
            out += [("gaussian", h, d, s)] + ([] if d in self.sizes else [("gd", h, d, s)])
        return out

    def params(self) -> dict:
        return api.check_params(MODEL, self.config, **self.given)

    def check(self) -> None:
        """ParameterError naming the option or parameter, before any work."""
        if len(self.sizes) != len(self.seeds) or len(self.gaussian_sizes) != len(self.gaussian_seeds):
            raise ParameterError("options '--seeds' / '--gaussian-seeds' need one value per size of "
                                 "'--sizes' / '--gaussian-sizes'")
        if len(set(self.sizes)) < 2:
            raise ParameterError(f"option '--sizes' needs at least 2 distinct sizes for the fit in 1/d "
                                 f"(got {list(self.sizes)})")
        if self.ref not in self.sizes:
            raise ParameterError(f"option '--ref' = {self.ref} must be one of '--sizes' {list(self.sizes)}")
        if min(self.seeds + self.gaussian_seeds) < 2:
            raise ParameterError("options '--seeds' / '--gaussian-seeds' must be >= 2 (standard errors)")
        shared = dict(zip(self.sizes, self.seeds))
        for d, s in zip(self.gaussian_sizes, self.gaussian_seeds):
            if shared.get(d, s) != s:
                raise ParameterError(f"size {d} is in '--sizes' and '--gaussian-sizes' with different seeds "
                                     f"({shared[d]} and {s}): give it the same number of seeds")
        if not (self.gd_step > 0 and self.dmft_dt > 0):
            raise ParameterError("options '--gd-step' and '--dmft-dt' must be > 0")
        p = self.params()
        if p["method"] != "dmft":
            raise ParameterError(f"parameter 'method' must be dmft for the budget (got {p['method']!r})")
        api.check_params(MODEL, self.config, **self.dmft_given())
        t = UniformGrid.up_to(p["t_max"], p["dt"]).t
        for kind, step, d, _ in self.runs():
            resolve({**p, "simulation": kind, "sim_step": step}, d, t)

    def dmft_given(self) -> dict:
        return {**self.given, "scheme": "uniform", "dt": self.dmft_dt, "richardson": True}

    def command(self, kind: str, step: float, d: int, seeds: int) -> str:
        """The equivalent ``dmft simulate`` command of one run."""
        given = {**self.given, "simulation": kind, "sim_step": f"{step:.10g}", "d": d, "seeds": seeds,
                 "seed": self.seed}
        words = ["dmft", "simulate", MODEL] + (["--config", self.config] if self.config else [])
        words += [f"{k}={_text(v)}" for k, v in given.items()] + ["-o", f"{kind}_d{d}_{step:.10g}.h5"]
        return shlex.join(words)


def _text(value) -> str:
    return ",".join(f"{x:g}" for x in value) if isinstance(value, (tuple, list)) else str(value)


# --------------------------------------------------------------------------- the budget

def per_seed(result, observables) -> np.ndarray:
    """(seeds, observables, times > 0) from a simulation Result."""
    return np.stack([result.simulation["per_seed"][name][:, 1:] for name in observables], axis=1)


def outliers(values: np.ndarray) -> list[int]:
    """Seeds k with |x_k - median| > OUTLIER * 1.4826 MAD for some observable and time (MAD: median
    absolute deviation over seeds; 1.4826 MAD is the standard deviation of a normal sample)."""
    dev = np.abs(values - np.median(values, axis=0))
    mad = 1.4826 * np.median(dev, axis=0)
    return [int(k) for k in np.flatnonzero(np.any((dev > OUTLIER * mad) & (mad > 0), axis=(1, 2)))]


def budget(plan: Plan, progress: bool = False, observables=OBSERVABLES) -> dict:
    """Run the plan (module doc) and return the budget as a JSON-able dict with ``rows``."""
    plan.check()
    p = plan.params()
    t = UniformGrid.up_to(p["t_max"], p["dt"]).t
    theory = api.solve(MODEL, plan.config, progress=progress, **plan.dmft_given())
    dmft = Term(const=np.stack([np.interp(t[1:], theory.t, theory[name]) for name in observables]))
    warnings = [] if theory.solver.get("status", "ok") == "ok" else [f"DMFT: {theory.solver['status']}"]
    sims, records = {}, []
    for kind, step, d, seeds in plan.runs():
        print(f"budget: {kind} sim_step={step:g} d={d} seeds={seeds}", file=sys.stderr, flush=True)
        r = api.simulate(MODEL, plan.config, progress=progress, **{
            **plan.given, "simulation": kind, "sim_step": step, "d": d, "seeds": seeds, "seed": plan.seed})
        values = per_seed(r, observables)
        wild = outliers(values)
        if wild or not np.all(np.isfinite(values)):
            warnings.append(f"{kind} sim_step={step:g} d={d}: non-finite values or seeds {wild} more than "
                            f"{OUTLIER} robust standard deviations from the median (unstable runs?); "
                            f"the means include them")
        sims[kind, step, d] = Term({d: values})
        records.append({"simulation": kind, "sim_step": step, "d": d, "seeds": seeds, "outlier_seeds": wild,
                        "n": int(r.simulation["n"]), "time_step": float(r.simulation["time_step"]),
                        "wall_time": round(r.solver["wall_time"], 2),
                        "command": plan.command(kind, step, d, seeds)})
    h, lr, d0 = plan.gd_step, float(p["sim_step"]), plan.ref
    eta1 = {rec["d"]: rec["time_step"] for rec in records if rec["simulation"] == "sgd"}
    gd = {d: sims["gd", h, d] for d in plan.sizes}
    c = (2.0 / h) * (gd[d0] - sims["gd", h / 2, d0])
    g_inf, chi2 = intercept(gd)
    terms = [("dmft", None, dmft), ("total", d0, sims["sgd", lr, d0] - dmft), ("gd_step", d0, eta1[d0] * c),
             ("gaussian", None, g_inf - h * c - dmft)]
    for d in plan.sizes:
        terms += [("sgd", d, sims["sgd", lr, d]), ("gd", d, gd[d]),
                  ("sgd_noise", d, sims["sgd", lr, d] - gd[d] + (h - eta1[d]) * c),
                  ("finite_d", d, gd[d] - g_inf)]
    for d in plan.gaussian_sizes:
        terms += [("gd_gaussian_model", d, sims["gaussian", h, d]),
                  ("gaussian_direct", d, sims["gd", h, d] - sims["gaussian", h, d]),
                  ("gaussian_model", d, sims["gaussian", h, d] - dmft)]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (sims["gd", 2 * h, d0] - gd[d0]).mean / (gd[d0] - sims["gd", h / 2, d0]).mean
    rows = [row for name, d, term in terms for row in _rows(name, d, term.mean, term.stderr, t, observables)]
    rows += _rows("gd_step_ratio", d0, ratio, None, t, observables)
    rows += _rows("fit_chi2", None, chi2, None, t, observables)
    return {"model": MODEL, "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in p.items()},
            "m": int(p["m"]), "ref": d0, "seed": plan.seed, "gd_step": h, "sgd_time_step": eta1[d0],
            "dmft": {"dt": plan.dmft_dt, "richardson": True, "wall_time": round(theory.solver["wall_time"], 2)},
            "runs": records, "warnings": warnings, "rows": rows}


def _rows(term: str, d, mean, stderr, t, observables) -> list[dict]:
    return [{"term": term, "d": d, "observable": name, "t": float(t[1 + j]), "mean": _number(mean[i, j]),
             "stderr": None if stderr is None else _number(stderr[i, j])}
            for i, name in enumerate(observables) for j in range(len(t) - 1)]


def _number(x) -> float | None:
    return float(x) if np.isfinite(x) else None


# --------------------------------------------------------------------------- scaling in m

def scaling(budgets: list[dict]) -> list[dict]:
    """Weighted least-squares slope of log|term| against log m over the budgets (one per width), for
    the terms of SCALING_TERMS at each budget's reference size (B at d = infinity), with weights
    (mean/stderr)^2, and the local exponents log(y_k+1/y_k)/log(m_k+1/m_k) between consecutive
    widths; None where the term changes sign or is zero across the widths."""
    budgets = sorted(budgets, key=lambda b: b["m"])
    widths = [b["m"] for b in budgets]
    if len(set(widths)) < 2:
        raise ParameterError(f"scaling needs budgets at >= 2 distinct widths m (got {widths})")
    out = []
    keys = {(r["term"], r["observable"], r["t"]) for r in budgets[0]["rows"] if r["term"] in SCALING_TERMS}
    for term, name, t in sorted(keys):
        pts = []
        for b in budgets:
            d = None if term == "gaussian" else b["ref"]
            pts += [(b["m"], r["mean"], r["stderr"]) for r in b["rows"]
                    if (r["term"], r["observable"], r["t"], r["d"]) == (term, name, t, d)]
        m, y, se = (np.array(v, dtype=float) for v in zip(*pts))
        row = {"term": term, "observable": name, "t": t, "widths": m.astype(int).tolist(),
               "mean": y.tolist(), "stderr": se.tolist(), "slope": None, "slope_stderr": None,
               "local_slopes": None}
        if np.all(y > 0) or np.all(y < 0):
            row["local_slopes"] = (np.diff(np.log(np.abs(y))) / np.diff(np.log(m))).tolist()
            w = (y / se) ** 2
            X = np.stack([np.ones_like(m), np.log(m)], axis=1)
            cov = np.linalg.inv(X.T @ (w[:, None] * X))
            row["slope"] = float((cov @ X.T @ (w * np.log(np.abs(y))))[1])
            row["slope_stderr"] = float(np.sqrt(cov[1, 1]))
        out.append(row)
    return out


# --------------------------------------------------------------------------- command line

def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers (got {text!r})") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m validation.two_layer_budget",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("run", help="run the budget at one width; JSON table on stdout")
    p.add_argument("params", nargs="*", metavar="key=value", help="two-layer parameters (incl. m, t_max, dt)")
    p.add_argument("--config", metavar="FILE.toml")
    p.add_argument("--sizes", type=_ints, required=True, help="sizes d of the real-network GD/SGD runs")
    p.add_argument("--seeds", type=_ints, required=True, help="seeds per size (one value per size)")
    p.add_argument("--ref", type=int, required=True, help="reference size d0 (one of --sizes)")
    p.add_argument("--gaussian-sizes", type=_ints, default=(), help="sizes of the Gaussian-model runs")
    p.add_argument("--gaussian-seeds", type=_ints, default=(), help="seeds per Gaussian size")
    p.add_argument("--gd-step", type=float, default=0.05, help="GD step h (default 0.05)")
    p.add_argument("--dmft-dt", type=float, default=0.05, help="DMFT step, Richardson (default 0.05)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("-o", "--output", metavar="FILE.json", help="also write the JSON here")
    p = sub.add_parser("scaling", help="fit each term against m over budget files; JSON on stdout")
    p.add_argument("files", nargs="+", metavar="BUDGET.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)       # key=value may follow options
    bad = extra if args.verb != "run" else [x for x in extra if x.startswith("-") or "=" not in x]
    if bad:
        parser.error(f"unrecognized arguments: {' '.join(bad)}")
    try:
        if args.verb == "scaling":
            out = scaling([json.loads(Path(f).read_text()) for f in args.files])
        else:
            pairs = [item.partition("=") for item in args.params + extra]
            if any(not sep or not key for key, sep, _ in pairs):
                raise ParameterError(f"expected key=value parameters (got {args.params})")
            plan = Plan({key: value for key, _, value in pairs}, args.sizes, args.seeds, args.ref,
                        args.gaussian_sizes, args.gaussian_seeds, args.gd_step, args.dmft_dt, args.seed,
                        args.config)
            out = budget(plan, progress=not args.quiet)
            out["command"] = "python -m validation.two_layer_budget " + shlex.join(argv or sys.argv[1:])
    except ParameterError as exc:
        print(f"two_layer_budget: error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(out, indent=1)
    if args.verb == "run" and args.output:
        Path(args.output).write_text(text + "\n")
    print(text)
    return 1 if args.verb == "run" and out["warnings"] else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
