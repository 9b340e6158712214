"""Parameters, checks and solve of model ``kernel``: gradient flow on kernel least squares with
a dot-product kernel K(x, x') = h(<x, x'>/d) on S^{d-1}(sqrt d), n samples, target f* with power p_l = |P_(l) f*|^2
in harmonic degree l and label noise sigma2 (kernel.md; Ghosh, Mei, Yu arXiv:2111.07167).

  Oracle world (exact at finite d):   oracle_test(t) = sigma2 + sum_l p_l exp(-2 xi_{d,l} t);
  Empirical world: the Gaussian-equivalent structured-covariance DMFT (degree l = a group with
  omega = xi_{d,l}, multiplicity B(d,l), power p_l; P = n), solved in the Laplace domain and
  inverted by fixed Talbot at each output time (solvers.kernel_laplace): test_error,
  train_error and learned_<l> = <P_(l) f_t, P_(l) f*>/p_l, each with ``<name>_stderr``, the
  numerical inversion error (difference from M - 4 Talbot nodes; ~1e-9 and below), so that
  `dmft validate` does not ask for more digits than the inversion has (train -> 0 at large t).

Times: t = 0 and ``points`` log-spaced times in [t_min, t_max]; each time is independent, so
t = 1e7 and beyond cost the same as t = 1.  Errors are MSEs, not halved; the test error
includes sigma2.  The d -> infinity three-stage description (solvers.kernel_stages) goes to
the solver record and is printed by ``dmft show``.
"""
from __future__ import annotations

import numpy as np

from dmft.model import Param, ParameterError
from dmft.result import Result

from . import kernel_laplace as laplace
from .kernel_spectrum import Kernel, Spectrum
from .kernel_stages import describe, diagnostics

TIME_CHUNK = 16


def problem(p) -> tuple[Kernel, Spectrum]:
    """The kernel of the parameters and its spectrum at dimension d."""
    kernel = Kernel(p["kernel"], p["coefficients"])
    return kernel, Spectrum(p["d"], kernel)


def output_times(p) -> np.ndarray:
    """t = 0 followed by ``points`` log-spaced times from t_min to t_max."""
    return np.concatenate([[0.0], np.geomspace(p["t_min"], p["t_max"], p["points"])])


def groups(spectrum: Spectrum, n: int, target, sigma2: float) -> laplace.Groups:
    """Degrees as Gaussian feature groups; target degrees beyond h's degree get omega = 0."""
    K = max(len(spectrum.degrees), len(target) + 1)
    omega, mult, power = np.zeros(K), np.ones(K), np.zeros(K)
    omega[: len(spectrum.degrees)] = spectrum.xi
    mult[: len(spectrum.degrees)] = spectrum.multiplicity
    power[1: len(target) + 1] = target
    return laplace.Groups(omega, mult, power, float(n), float(sigma2))


def empirical_curves(spectrum, n, target, sigma2, t, M, run=None) -> tuple[dict, str]:
    """DMFT test/train errors and learned fractions (len(t), len(target)) at times t (t[0] may
    be 0), with ``<name>_stderr``: the inversion error |X(M) - X(M - 4)| (an upper bound of the
    error at M).  Computed in chunks of times; stops at the first time that fails or is not
    finite and says so in the status."""
    g = groups(spectrum, n, target, sigma2)
    K = len(target)
    names = ("test_error", "train_error", "learned")
    out = {key: np.full((len(t), K) if key.startswith("learned") else len(t), np.nan)
           for name in names for key in (name, name + "_stderr")}
    status, done = "ok", 0
    if t[0] == 0:
        out["test_error"][0] = out["train_error"][0] = sum(target) + sigma2
        for name in names:
            out[name + "_stderr"][0] = 0.0
        out["learned"][0] = 0.0
        done = 1
    bar = run.progress(len(t), initial=done, unit="time") if run is not None else None
    for start in range(done, len(t), TIME_CHUNK):
        part = slice(start, min(start + TIME_CHUNK, len(t)))
        try:
            c, coarse = laplace.curves(g, t[part], M), laplace.curves(g, t[part], M - 4)
        except laplace.InversionError as exc:
            status = f"stopped at t = {t[start]:.4g}: {exc}"
            break
        for name in names:
            c[name + "_stderr"] = np.abs(c[name] - coarse[name])
        for name in ("learned", "learned_stderr"):
            c[name] = c[name][:, 1: K + 1]
        bad = ~np.all(np.isfinite(np.column_stack([c[key] for key in out])), axis=1)
        keep = int(np.argmax(bad)) if bad.any() else len(bad)
        for key in out:
            out[key][start: start + keep] = c[key][:keep]
        done = start + keep
        if bar is not None:
            bar.update(keep)
        if bad.any():
            status = f"non-finite Laplace inversion at t = {t[done]:.4g}"
            break
    if bar is not None:
        bar.close()
    return {k: v[:done] for k, v in out.items()}, status


PARAMETERS = (
    Param("d", int, 100, "input dimension (inputs uniform on the sphere of radius sqrt(d))", low=3),
    Param("n", int, 1000, "number of training samples", low=1),
    Param("kernel", str, "exp", "h(u): exp, or poly = sum_k coefficients[k] u^k (any h through "
          "its Taylor coefficients)", choices=("exp", "poly")),
    Param("coefficients", tuple, None, "Taylor coefficients h_0, h_1, ... of h (kernel=poly; all >= 0)"),
    Param("target", tuple, (1.0, 1.0, 1.0), "target powers |P_(l) f*|^2 for l = 1, 2, ... (comma separated)"),
    Param("sigma2", float, 0.1, "label-noise variance", low=0),
    Param("t_min", float, 1.0, "first log-spaced output time", low=0, low_open=True),
    Param("t_max", float, 1e7, "last output time", low=0, low_open=True),
    Param("points", int, 71, "number of log-spaced output times (t = 0 is added)", low=2, high=100000),
    Param("talbot", int, 24, "fixed-Talbot nodes M per half contour (2M - 1 in all)", low=8, high=60),
    Param("n_test", int, 20000, "fresh test points per realisation (simulation only)", low=1),
)

OBSERVABLES = {
    "oracle_test": "oracle world (population GF) test MSE, exact: sigma2 + sum_l p_l exp(-2 xi_l t)",
    "train_error": "empirical world training MSE (1/n) sum (f_t(x_i) - y_i)^2",
    "test_error": "empirical world test MSE |f_t - f*|^2 + sigma2",
    "learned_<l>": "fraction of degree l learned, <P_(l) f_t, P_(l) f*> / p_l (l = 1..len(target))",
}


def check(p) -> None:
    """Cross-parameter conditions (ParameterError names the parameter and the allowed range)."""
    if (p["kernel"] == "poly") != (p["coefficients"] is not None):
        raise ParameterError("parameter 'coefficients' must be given exactly when kernel=poly")
    if p["coefficients"] is not None and (min(p["coefficients"]) < 0 or max(p["coefficients"]) <= 0):
        raise ParameterError(f"parameter 'coefficients' must be >= 0 and not all 0 (a positive "
                             f"definite kernel in every dimension; got {p['coefficients']})")
    if min(p["target"]) < 0:
        raise ParameterError(f"parameter 'target' must be >= 0 (powers; got {p['target']})")
    if p["t_min"] >= p["t_max"]:
        raise ParameterError(f"parameter 't_min' must be < t_max = {p['t_max']:g} (got {p['t_min']:g})")
    if "d" in p:      # `dmft simulate` hands d to the simulator, which calls check_size itself
        check_size(p["target"], p["d"])


def check_size(target, d: int) -> None:
    """The simulated target puts degree l on l coordinates of its own: sum_l l <= d."""
    need = len(target) * (len(target) + 1) // 2
    if need > d:
        raise ParameterError(f"parameter 'd' must be >= {need} for a target with {len(target)} degrees "
                             f"(the harmonics x_i1...x_il use disjoint coordinates; got d = {d})")


def solve(p, run, name: str = "kernel") -> Result:
    """Oracle curve, Laplace DMFT curves, spectrum and three-stage record."""
    _, spectrum = problem(p)
    t = output_times(p)
    target = list(p["target"])
    curves, status = empirical_curves(spectrum, p["n"], target, p["sigma2"], t, p["talbot"], run)
    k = len(curves["test_error"])
    xi = np.append(spectrum.xi, np.zeros(len(target) + 1))[1: len(target) + 1]
    obs = {"oracle_test": laplace.oracle(xi, np.array(target), p["sigma2"], t[:k])}
    for name in ("train_error", "test_error"):
        obs.update({name: curves[name], name + "_stderr": curves[name + "_stderr"]})
    for l in range(1, len(target) + 1):
        obs.update({f"learned_{l}": curves["learned"][:, l - 1],
                    f"learned_{l}_stderr": curves["learned_stderr"][:, l - 1]})
    diag = diagnostics(spectrum, p["n"], target, p["sigma2"])
    solver = {"method": "laplace-talbot", "iterations": 0, "residual": 0.0,
              "converged": status == "ok", "status": status, "talbot_nodes": 2 * p["talbot"] - 1,
              "inversion_error": float(max(np.max(curves[n + "_stderr"], initial=0.0) for n in ("test_error", "train_error"))),
              **diag, "three_stages": describe(diag, target),
              "degrees": spectrum.degrees, "xi": spectrum.xi, "multiplicity": spectrum.multiplicity}
    return Result(name, p, t[:k], observables=obs, solver=solver)
