"""Finite-d simulation of ``glm`` (glm.md sections 1, 2.5 and "How to compare with a direct
simulation"): full-batch gradient descent on a generalized linear model with Gaussian inputs.

Per realisation k (all draws from ``generator(seed, d, k)``, in this fixed order):
X (n x d, n = round(alpha d)) with N(0, 1) entries; w* Gaussian rescaled to |w*|^2 = rho
exactly; the label noise (linear teacher: eps ~ N(0, 1)^n, y = X w* + sqrt(sigma2) eps;
sign teacher: u ~ U(0, 1)^n, y = sign(X w*) with the sign of sample mu flipped when
u_mu < flip); a Gaussian w_perp, projected orthogonal to w* and rescaled to |w_perp|^2 = q0
(w_perp = 0 if q0 = 0).  The noise and w_perp are always drawn, so the draws do not depend on
sigma2, flip or q0, and for m0 = q0 = 0 with a linear teacher the draws are those of the
``linear-regression`` simulator.  The start is w(0) = m0 w* + w_perp, hence
w(0).w* = m0 rho and |w(0)|^2 = m0^2 rho + q0 (up to round-off).

Dynamics: with L(w) = (1/n) sum_mu loss(x_mu.w; y_mu) + (ridge/2)|w|^2, the literal iteration
w <- w - dt [(1/n) X^T loss'(X w; y) + ridge w], recorded at every step k (t = k dt).  For
``method=gf`` this is the same iteration, i.e. the explicit Euler scheme of gradient flow with
step dt, which is exactly the discrete dynamics the DMFT integrates (glm.md section 3), so
the comparison contains no discretisation error.

Losses (h = x.w): square (h - y)^2/2, loss' = h - y; logistic log(1 + exp(-y h)) (computed as
logaddexp(0, -y h)), loss' = -y expit(-y h); hinge max(0, 1 - y h), loss' = -y 1[y h < 1]
(a subgradient).

Observables per step: train_loss = (1/n) sum_mu loss (no ridge term); train_error = for the
sign teacher the fraction of training samples with y h <= 0, for the linear teacher the MSE
(1/n) sum_mu (h - y)^2 (not halved); test_error = for the sign teacher the exact population
classification error e0 + flip (1 - 2 e0) with e0 = arccos(m / sqrt(q rho)) / pi (1/2 when
q = 0), for the linear teacher |w - w*|^2 + sigma2 (exact for Gaussian inputs); m = w.w*;
q = |w|^2.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

from dmft.grid import UniformGrid
from dmft.simulation import Simulator, run_realisations

OBSERVABLES = ("train_loss", "train_error", "test_error", "m", "q")


def loss_value(loss: str, h: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-sample loss(h; y)."""
    if loss == "square":
        return 0.5 * (h - y) ** 2
    if loss == "logistic":
        return np.logaddexp(0.0, -y * h)
    if loss == "hinge":
        return np.maximum(0.0, 1.0 - y * h)
    raise ValueError(f"unknown loss {loss!r}")


def loss_derivative(loss: str, h: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-sample d loss / d h (for the hinge, the subgradient -y 1[y h < 1])."""
    if loss == "square":
        return h - y
    if loss == "logistic":
        return -y * expit(-y * h)
    if loss == "hinge":
        return np.where(y * h < 1.0, -y, 0.0)
    raise ValueError(f"unknown loss {loss!r}")


def objective(w: np.ndarray, X: np.ndarray, y: np.ndarray, loss: str, ridge: float):
    """(L(w), grad L(w)) of the averaged, ridge-penalised empirical loss."""
    h = X @ w
    n = len(y)
    value = float(np.mean(loss_value(loss, h, y))) + 0.5 * ridge * float(w @ w)
    grad = X.T @ loss_derivative(loss, h, y) / n + ridge * w
    return value, grad


def classification_error(m, q, rho: float, flip: float):
    """Population error e0 + flip (1 - 2 e0), e0 = arccos(m / sqrt(q rho)) / pi (1/2 at q = 0)."""
    m = np.asarray(m, dtype=float)
    q = np.asarray(q, dtype=float)
    norm = np.sqrt(q * rho)
    positive = norm > 0
    cosine = np.where(positive, m / np.where(positive, norm, 1.0), 0.0)
    e0 = np.arccos(np.clip(cosine, -1.0, 1.0)) / np.pi
    return e0 + flip * (1.0 - 2.0 * e0)


def realisation(p, d, rng):
    """(n, X, y, w*, w(0)) of one realisation, drawn in the fixed order of the module doc."""
    n = max(1, int(round(p["alpha"] * d)))
    X = rng.standard_normal((n, d))
    w_star = rng.standard_normal(d)
    norm = np.linalg.norm(w_star)
    w_star *= np.sqrt(p["rho"]) / norm if norm > 0 else 0.0
    h_star = X @ w_star
    if p["teacher"] == "linear":
        y = h_star + np.sqrt(p["sigma2"]) * rng.standard_normal(n)
    elif p["teacher"] == "sign":
        y = np.where(h_star >= 0, 1.0, -1.0)
        y[rng.random(n) < p["flip"]] *= -1.0
    else:
        raise ValueError(f"unknown teacher {p['teacher']!r}")
    w_perp = rng.standard_normal(d)
    if p["q0"] > 0:
        if p["rho"] > 0:
            w_perp -= (w_perp @ w_star) / (w_star @ w_star) * w_star
        w_perp *= np.sqrt(p["q0"]) / np.linalg.norm(w_perp)
    else:
        w_perp[:] = 0.0
    w0 = p["m0"] * w_star + w_perp
    return n, X, y, w_star, w0


def gd_trajectory(p, X, y, w_star, w0, n_points):
    """Per-step observables of w <- w - dt grad L(w), k = 0 .. n_points - 1 (dict of (N,))."""
    n = len(y)
    loss, ridge, dt = p["loss"], p["ridge"], p["dt"]
    sign = p["teacher"] == "sign"
    out = {name: np.empty(n_points) for name in OBSERVABLES}
    w = w0.copy()
    for k in range(n_points):
        h = X @ w
        out["train_loss"][k] = np.mean(loss_value(loss, h, y))
        if sign:
            out["train_error"][k] = np.mean(y * h <= 0)
        else:
            out["train_error"][k] = np.mean((h - y) ** 2)
        out["m"][k] = w @ w_star
        out["q"][k] = w @ w
        if not sign:
            diff = w - w_star
            out["test_error"][k] = diff @ diff + p["sigma2"]
        if k + 1 < n_points:
            w = w - dt * (X.T @ loss_derivative(loss, h, y) / n + ridge * w)
    if sign:
        out["test_error"][:] = classification_error(out["m"], out["q"], p["rho"], p["flip"])
    return out


class GLMSimulator(Simulator):
    """Full-batch GD (and, identically, the Euler scheme of GF) on a Gaussian GLM."""

    name = "glm"

    def simulate(self, p, d, seeds, seed, run):
        t = UniformGrid.up_to(p["t_max"], p["dt"]).t
        method = "gd-iteration" if p["method"] == "gd" else "euler-iteration"

        def one(rng):
            n, X, y, w_star, w0 = realisation(p, d, rng)
            return gd_trajectory(p, X, y, w_star, w0, len(t))

        return run_realisations(self.name, p, t, d, seeds, seed, run, one, method,
                                n=max(1, int(round(p["alpha"] * d))))
