"""Finite-d simulation of ``linear-regression`` (glm.md, "How to compare with a direct
simulation").

Per realisation: X (n x d, n = round(alpha d)) with N(0, 1) entries, w* Gaussian rescaled to
|w*|^2 = rho exactly, y = X w* + sqrt(sigma2) eps, w(0) = 0 or isotropic with |w(0)|^2 = q0.
With S = X^T X / n and v = X^T y / n:
  gd: literal iteration w <- w - dt (S w - v + ridge w), recorded after every step;
  gf: exact flow in the eigenbasis S = V diag(s) V^T,
      w(t) = V [exp(-(s+ridge) t) V^T w0 + (1 - exp(-(s+ridge) t)) / (s+ridge) V^T v].
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


def _gf_path(S, v, w0, ridge, t):
    s, V = np.linalg.eigh(S)
    rate = s + ridge
    decay = np.exp(-np.outer(t, rate))
    tiny = np.abs(rate) < 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        relax = np.where(tiny, t[:, None], -np.expm1(-np.outer(t, rate)) / np.where(tiny, 1.0, rate))
    coords = decay * (V.T @ w0) + relax * (V.T @ v)
    return coords @ V.T


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
                if p["method"] == "gd":
                    W = _gd_path(S, v, w0, p["ridge"], p["dt"], grid.n)
                else:
                    W = _gf_path(S, v, w0, p["ridge"], t)
                per_seed["train_error"][k] = np.einsum("ti,ij,tj->t", W, S, W) - 2 * W @ v + y2
                per_seed["test_error"][k] = np.sum((W - w_star) ** 2, axis=1) + p["sigma2"]
                per_seed["m"][k] = W @ w_star
                per_seed["q"][k] = np.sum(W**2, axis=1)
                bar.update(1)
        solver = {"method": "gd-iteration" if p["method"] == "gd" else "gf-eigenbasis",
                  "dt": p["dt"], "iterations": grid.n - 1, "residual": 0.0, "converged": True,
                  "status": "ok"}
        return Result(self.name, p, t, observables=mean_and_stderr(per_seed), solver=solver,
                      simulation={"d": d, "n": n, "seeds": seeds, "per_seed": per_seed})
