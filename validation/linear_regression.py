"""Finite-d simulation of ``linear-regression`` (glm.md, "How to compare with a direct
simulation").

Per realisation: X (n x d, n = round(alpha d)) with N(0, 1) entries, w* Gaussian rescaled to
|w*|^2 = rho exactly, y = X w* + sqrt(sigma2) eps, w(0) = 0 or isotropic with |w(0)|^2 = q0.
With S = X^T X / n and v = X^T y / n, the literal iteration w <- w - dt (S w - v + ridge w),
recorded after every step.  For ``method=gf`` this is the explicit Euler scheme with step dt,
the same discretisation the DMFT integrates, so the comparison contains no discretisation
error (glm.md); the O(dt) distance to exact gradient flow is tested separately against the
Marchenko-Pastur closed form.
Observables: train_error = (1/n)|X w - y|^2 = w.S w - 2 w.v + |y|^2/n, test_error =
|w - w*|^2 + sigma2 (exact for Gaussian inputs), m = w.w*, q = |w|^2.
"""
from __future__ import annotations

import numpy as np

from dmft.grid import UniformGrid
from dmft.result import Result
from dmft.simulation import Simulator, generator, mean_and_stderr


def _realisation(p, d, rng):
    n = max(1, int(round(p["alpha"] * d)))
    X = rng.standard_normal((n, d))
    w_star = rng.standard_normal(d)
    w_star *= np.sqrt(p["rho"]) / np.linalg.norm(w_star)
    y = X @ w_star + np.sqrt(p["sigma2"]) * rng.standard_normal(n)
    w0 = np.zeros(d)
    if p["q0"] > 0:
        w0 = rng.standard_normal(d)
        w0 *= np.sqrt(p["q0"]) / np.linalg.norm(w0)
    return n, X.T @ X / n, X.T @ y / n, float(y @ y) / n, w_star, w0


def _gd_path(S, v, w0, ridge, dt, n_points):
    W = np.empty((n_points, len(w0)))
    w = w0.copy()
    W[0] = w
    for k in range(1, n_points):
        w = w - dt * (S @ w - v + ridge * w)
        W[k] = w
    return W


class LinearRegressionSimulator(Simulator):
    name = "linear-regression"

    def simulate(self, p, d, seeds, seed, run):
        grid = UniformGrid.up_to(p["t_max"], p["dt"])
        t = grid.t
        names = ("train_error", "test_error", "m", "q")
        per_seed = {name: np.empty((seeds, grid.n)) for name in names}
        n = 0
        with run.progress(seeds, unit="seed") as bar:
            for k in range(seeds):
                n, S, v, y2, w_star, w0 = _realisation(p, d, generator(seed, d, k))
                W = _gd_path(S, v, w0, p["ridge"], p["dt"], grid.n)
                per_seed["train_error"][k] = np.sum((W @ S) * W, axis=1) - 2 * W @ v + y2
                per_seed["test_error"][k] = np.sum((W - w_star) ** 2, axis=1) + p["sigma2"]
                per_seed["m"][k] = W @ w_star
                per_seed["q"][k] = np.sum(W**2, axis=1)
                bar.update(1)
        solver = {"method": "gd-iteration" if p["method"] == "gd" else "euler-iteration",
                  "dt": p["dt"], "iterations": grid.n - 1, "residual": 0.0, "converged": True,
                  "status": "ok"}
        return Result(self.name, p, t, observables=mean_and_stderr(per_seed), solver=solver,
                      simulation={"d": d, "n": n, "seeds": seeds, "per_seed": per_seed})
