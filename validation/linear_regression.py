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
from dmft.simulation import Simulator, run_realisations


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


def _observables(p, d, rng, n_points):
    """train_error, test_error, m, q along the GD path of one realisation."""
    n, S, v, y2, w_star, w0 = _realisation(p, d, rng)
    W = _gd_path(S, v, w0, p["ridge"], p["dt"], n_points)
    return {"train_error": np.sum((W @ S) * W, axis=1) - 2 * W @ v + y2,
            "test_error": np.sum((W - w_star) ** 2, axis=1) + p["sigma2"],
            "m": W @ w_star, "q": np.sum(W**2, axis=1)}


class LinearRegressionSimulator(Simulator):
    name = "linear-regression"

    def simulate(self, p, d, seeds, seed, run):
        t = UniformGrid.up_to(p["t_max"], p["dt"]).t
        method = "gd-iteration" if p["method"] == "gd" else "euler-iteration"
        return run_realisations(self.name, p, t, d, seeds, seed, run,
                                lambda rng: _observables(p, d, rng, len(t)), method,
                                n=max(1, int(round(p["alpha"] * d))))
