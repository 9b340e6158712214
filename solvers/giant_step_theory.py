"""One-giant-step closed forms of ``giant-step`` (giant_step.md section 4), leading order as
d -> infinity, symmetric initialisation (f = 0 at start), |a_j| = 1/sqrt(p), E[g*] = 0.

Batch n = alpha d, learning rate eta_full = eta p (section 4.1), c_1 = E[sigma'], C_1 = E[g* z]:

  spike         cos^2(beta_hat, beta*) = |C_1|^2 / (|C_1|^2 + E[y^2]/alpha),  beta_hat = (1/n) sum y x
  overlaps      M_j = W* w_j^1 = eta sqrt(p) a_j c_1 C_1                        (one direction)
  per neuron    cos^2(w_j^1, v*) = eta^2 c_1^2 |C_1|^2 /
                   (1 + eta^2 [c_1^2 (|C_1|^2 + E[y^2]/alpha) + E[y^2] Var sigma' / alpha])
                with v* = W*^T C_1 / |C_1|; the denominator is Q_jj after the step.

Batch n = d^l (section 4.2), C_k = 0 for k < l (after preprocessing), eta_full = eta p sqrt(n/d):

  W* Delta w_j = eta_full a_j / sqrt(p) c_l / (l-1)! C_l[., m_j^(l-1)],   m_j = W* w_j^0,
  implemented for l = 1 (C_1) and l = 2 (C_2 m_j: specialisation).
"""
from __future__ import annotations

import math

import numpy as np

from .giant_step_hermite import Target, activation_coefficients, derivative_variance


def spike_cos2(target: Target, alpha: float) -> float:
    c1 = float(np.sum(target.C1() ** 2))
    return c1 / (c1 + target.second_moment / alpha)


def one_step_overlaps(target: Target, activation: str, eta: float, a: np.ndarray) -> np.ndarray:
    """M after one step from M = 0 (p, r)."""
    c1 = activation_coefficients(activation, 1)[1]
    return eta * np.sqrt(len(a)) * a[:, None] * c1 * target.C1()[None, :]


def one_step_norm2(target: Target, activation: str, eta: float, alpha: float) -> float:
    """Q_jj after one step from |w_j| = 1."""
    c1 = activation_coefficients(activation, 1)[1]
    ey2 = target.second_moment
    return 1 + eta**2 * (c1**2 * (np.sum(target.C1() ** 2) + ey2 / alpha)
                         + ey2 * derivative_variance(activation) / alpha)


def neuron_cos2(target: Target, activation: str, eta: float, alpha: float) -> float:
    c1 = activation_coefficients(activation, 1)[1]
    return eta**2 * c1**2 * float(np.sum(target.C1() ** 2)) / one_step_norm2(target, activation, eta, alpha)


def specialisation(target: Target, activation: str, eta_full: float, a: np.ndarray, m: np.ndarray,
                   ell: int) -> np.ndarray:
    """Predicted W* Delta w_j (p, r) at n = d^ell from the initial overlaps m (p, r), ell = 1, 2."""
    c = activation_coefficients(activation, ell)[ell] / math.factorial(ell - 1)
    scale = eta_full * a / np.sqrt(len(a)) * c
    if ell == 1:
        return scale[:, None] * target.C1()[None, :]
    if ell == 2:
        return scale[:, None] * (m @ target.C2().T)
    raise ValueError(f"specialisation: ell must be 1 or 2 (got {ell})")
