"""Numba kernel of the sampled sample side of the GLM DMFT (glm.md sections 3 and 4).

For every replica r (in parallel) and every trajectory s of it, given the fields
v = c h* + a h0 + R diag(w) xi (sampled outside, see solvers.glm):

  h_i = v_i - (1/alpha) sum_{j<i} R_ij w_j g_j,   g_i = l'(h_i; y),   D_i = l''(h_i; y)
  J_kk = 1,  J_ik = -(1/alpha) sum_{r=k}^{i-1} R_ir w_r D_r J_rk      (per-trajectory tangent)

and the replica averages

  Gamma_ik = <D_i J_ik>,  C_g,ij = <g_i g_j>,  b_i = <g_i h*> / rho,
  train_loss_i = <l(h_i; y)>,  train_error_i = <1[y h_i <= 0]> (classify) or <(h_i - y)^2>.

Cost O(T^3) per trajectory (the tangent), O(samples T^3) per sweep; for the square loss
(l'' = 1) the tangent is the same for every trajectory and is computed once per replica, so a
sweep costs O(samples T^2).  Replicas run in parallel
and each accumulates only into its own slot, so results do not depend on thread scheduling.

Losses (``loss_id``): 0 square l = (h-y)^2/2; 1 logistic l = log(1 + exp(-y h)), y = +-1;
2 hinge l = max(0, 1 - y h).  The hinge's l'' is a delta at the margin y h = 1, which a
pathwise tangent never sees, and its l' is a step, which makes the sampled fixed-point map
discontinuous.  The hinge is therefore integrated as the limit of its Gaussian smoothing of
width ``kink_width`` (w): l' = -y Phi((1 - y h)/w), l'' = phi((1 - y h)/w)/w, with an
O(w^2) bias; the reported loss is the hinge itself (docs/models/glm.md).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .weight_side import FAST

SQUARE, LOGISTIC, HINGE = 0, 1, 2
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)


@njit(cache=True, fastmath=FAST, inline="always")
def _loss_terms(loss_id, h, y, kink_width):
    """(l, l', l'') at h for label y."""
    if loss_id == SQUARE:
        return 0.5 * (h - y) ** 2, h - y, 1.0
    z = y * h
    if loss_id == LOGISTIC:
        e = math.exp(-abs(z))
        s = 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)          # sigmoid(z)
        return math.log1p(e) + max(-z, 0.0), -y * (1.0 - s), s * (1.0 - s)
    u = (1.0 - z) / kink_width            # hinge, l' and l'' of its Gaussian smoothing
    return (max(0.0, 1.0 - z), -y * 0.5 * math.erfc(-u * _INV_SQRT_2),
            _INV_SQRT_2PI / kink_width * math.exp(-0.5 * u * u))


@njit(cache=True, fastmath=FAST)
def _tangent(inv_alpha, w, R, D, J):
    """J = (I + (1/alpha) R diag(w D))^{-1} by forward substitution (lower triangle of J)."""
    T = len(D)
    for i in range(T):
        for k in range(i):
            J[i, k] = 0.0
        J[i, i] = 1.0
        for q in range(i):
            f = -inv_alpha * R[i, q] * w[q] * D[q]
            if f != 0.0:
                for k in range(q + 1):
                    J[i, k] += f * J[q, k]


@njit(cache=True, fastmath=FAST, parallel=True)
def sample_side(loss_id, classify, kink_width, inv_alpha, rho, w, R, V, y, h_star,
                Gamma, C_g, b, train_loss, train_error):
    """Replica averages of the sample side (see module docstring); outputs are overwritten.

    Shapes: w (T,), R (B, T, T), V (B, S, T), y and h_star (B, S); Gamma, C_g (B, T, T);
    b, train_loss, train_error (B, T).
    """
    n_rep, n_traj, T = V.shape
    for r in prange(n_rep):
        h = np.empty(T)
        g = np.empty(T)
        D = np.empty(T)
        J = np.zeros((T, T))
        Gamma[r] = 0.0
        C_g[r] = 0.0
        b[r] = 0.0
        train_loss[r] = 0.0
        train_error[r] = 0.0
        Rr = R[r]
        if loss_id == SQUARE:            # l'' = 1: one tangent for all trajectories, Gamma = J
            for i in range(T):
                D[i] = 1.0
            _tangent(inv_alpha, w, Rr, D, J)
            for i in range(T):
                for k in range(i + 1):
                    Gamma[r, i, k] = n_traj * J[i, k]
        for s in range(n_traj):
            ys = y[r, s]
            for i in range(T):
                acc = 0.0
                for j in range(i):
                    acc += Rr[i, j] * w[j] * g[j]
                h[i] = V[r, s, i] - inv_alpha * acc
                loss, g[i], D[i] = _loss_terms(loss_id, h[i], ys, kink_width)
                train_loss[r, i] += loss
                if classify:
                    train_error[r, i] += 1.0 if ys * h[i] <= 0.0 else 0.0
                else:
                    train_error[r, i] += (h[i] - ys) ** 2
                b[r, i] += g[i] * h_star[r, s]
                for j in range(i + 1):
                    C_g[r, i, j] += g[i] * g[j]
            if loss_id != SQUARE:
                _tangent(inv_alpha, w, Rr, D, J)
                for i in range(T):
                    if D[i] != 0.0:
                        for k in range(i + 1):
                            Gamma[r, i, k] += D[i] * J[i, k]
        scale = 1.0 / n_traj
        for i in range(T):
            b[r, i] *= scale / rho
            train_loss[r, i] *= scale
            train_error[r, i] *= scale
            for j in range(i + 1):
                Gamma[r, i, j] *= scale
                C_g[r, i, j] *= scale
                C_g[r, j, i] = C_g[r, i, j]
