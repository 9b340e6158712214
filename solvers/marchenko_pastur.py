"""Closed forms for least squares / ridge with Gaussian design (glm.md section 7).

The spectrum of X^T X / n (ratio gamma = d/n = 1/alpha) follows the Marchenko-Pastur law:
a continuous part on [s_-, s_+], s_+- = (1 +- sqrt(gamma))^2, and an atom of mass
(1 - alpha)_+ at s = 0.  With the mode decay E_t(s) = exp(-(s + ridge) t) for gradient flow or
(1 - dt (s + ridge))^k at t = k dt for gradient descent, the start w(0) = m0 w* + w_perp
(|w_perp|^2 = q0, independent of the data) and P_t(s) = 1 - (1 - E_t) s / (s + ridge) - m0 E_t:

  test(t)  = sigma2 + rho int P^2 + sigma2 gamma int s (1 - E)^2 / (s + ridge)^2 + q0 int E^2
  train(t) = rho int s P^2 + sigma2 [(1 - min(1, gamma)) + gamma int_{s>0} P_0^2] + q0 int s E^2
  m(t)     = rho int [s (1 - E) / (s + ridge) + m0 E],     q(t) = test - sigma2 - rho + 2 m

(P_0: P at m0 = 0, the noise filter).
  R(tau)   = int E_tau   (GF: R(t, s) = R(t - s); GD: R_ij = int E_{(i-j-1) dt})

Errors are mean squared errors, not halved; the test error includes the noise sigma2.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MarchenkoPastur:
    """Quadrature of the MP law: continuous nodes ``s`` with ``weights``, plus ``atom`` at 0.

    Nodes: s = (s_- + s_+)/2 + (s_+ - s_-)/2 cos(theta), midpoint rule in theta with
    ``n_nodes`` points, which removes the square-root edge singularities (exact to round-off
    for smooth integrands long before n_nodes = 4000).
    """

    alpha: float
    n_nodes: int = 4000

    @property
    def gamma(self) -> float:
        return 1.0 / self.alpha

    @property
    def atom(self) -> float:
        return max(0.0, 1.0 - self.alpha)

    @property
    def nodes(self) -> tuple[np.ndarray, np.ndarray]:
        g = self.gamma
        s_minus, s_plus = (1 - np.sqrt(g)) ** 2, (1 + np.sqrt(g)) ** 2
        theta = (np.arange(self.n_nodes) + 0.5) * np.pi / self.n_nodes
        s = 0.5 * (s_minus + s_plus) + 0.5 * (s_plus - s_minus) * np.cos(theta)
        weights = (0.5 * (s_plus - s_minus) * np.sin(theta)) ** 2 / (2 * np.pi * g * s) * np.pi / self.n_nodes
        return s, weights


def mode_decay(s: np.ndarray, t: np.ndarray, ridge: float, method: str, dt: float) -> np.ndarray:
    """E_t(s) on the (len(t), len(s)) grid: exp(-(s+ridge) t) (gf) or (1-dt(s+ridge))^(t/dt) (gd)."""
    t = np.asarray(t, dtype=float)[:, None]
    if method == "gf":
        return np.exp(-(s + ridge) * t)
    steps = np.rint(t / dt)
    return (1.0 - dt * (s + ridge)) ** steps


def _relax(s: np.ndarray, decay: np.ndarray, ridge: float, t: np.ndarray) -> np.ndarray:
    """(1 - E) / (s + ridge), with its limit t at s + ridge = 0 (GD: k dt = t as well)."""
    lam = s + ridge
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (1.0 - decay) / lam
    zero = np.broadcast_to(lam == 0, out.shape)
    return np.where(zero, np.broadcast_to(np.asarray(t, float)[:, None], out.shape), out)


def errors(alpha: float, sigma2: float, ridge: float, rho: float, q0: float, t: np.ndarray,
           method: str = "gf", dt: float = 0.0, n_nodes: int = 4000, m0: float = 0.0) -> dict[str, np.ndarray]:
    """test_error, train_error, m and q at times t (see module docstring)."""
    mp = MarchenkoPastur(alpha, n_nodes)
    s, wt = mp.nodes
    t = np.asarray(t, dtype=float)
    g = mp.gamma
    E = mode_decay(s, t, ridge, method, dt)
    relax = _relax(s, E, ridge, t)
    P0 = 1.0 - s * relax
    P = P0 - m0 * E
    # atom at s = 0: P = 1 - m0 E0 with E0 the decay of the ridge alone; no variance term
    E0 = mode_decay(np.zeros(1), t, ridge, method, dt)[:, 0]
    atom = mp.atom
    test = (sigma2 + rho * (P**2 @ wt + atom * (1 - m0 * E0) ** 2) + sigma2 * g * ((s * relax**2) @ wt)
            + q0 * ((E**2) @ wt + atom * E0**2))
    train = (rho * ((s * P**2) @ wt) + sigma2 * ((1 - min(1.0, g)) + g * (P0**2 @ wt))
             + q0 * ((s * E**2) @ wt))
    m = rho * ((s * relax + m0 * E) @ wt + atom * m0 * E0)
    return {"test_error": test, "train_error": train, "m": m, "q": test - sigma2 - rho + 2 * m}


def response(alpha: float, ridge: float, lags: np.ndarray, method: str = "gf", dt: float = 0.0,
             n_nodes: int = 4000) -> np.ndarray:
    """R as a function of the lag: GF R(tau) = int exp(-(s+ridge) tau) dmu; GD R_{i,j} with
    lags = (i - j - 1) dt gives int (1 - dt (s+ridge))^(i-j-1) dmu (atom included)."""
    mp = MarchenkoPastur(alpha, n_nodes)
    s, wt = mp.nodes
    lags = np.asarray(lags, dtype=float)
    return (mode_decay(s, lags, ridge, method, dt) @ wt
            + mp.atom * mode_decay(np.zeros(1), lags, ridge, method, dt)[:, 0])


def top_of_spectrum(alpha: float) -> float:
    """s_+ = (1 + sqrt(1/alpha))^2, the largest eigenvalue of X^T X / n."""
    return (1.0 + np.sqrt(1.0 / alpha)) ** 2
