"""State evolution of the overlaps (M, Q) over giant steps with fresh batches (giant_step.md
section 5): exact as d -> infinity with p, r, steps and alpha = n/d fixed, second layer fixed.

One step from (M, Q) (M = W W*^T, p x r;  Q = W W^T, p x p):

  Omega = [[I_r, M^T], [M, Q]],  (z, lambda) ~ N(0, Omega),
  e = g*(z) - sum_k a_k sigma(lambda_k) / sqrt(p),   phi_j = e sigma'(lambda_j),
  v_j = E[phi_j (z, lambda)] (r + p),  P_jk = E[e^2 sigma'(lambda_j) sigma'(lambda_k)],
  c_j = eta a_j / sqrt(p) with eta = eta_tilde p, i.e. c_j = eta_tilde sqrt(p) a_j,
  M_j  <- M_j + c_j v_j[:r],
  Q_jk <- Q_jk + c_j v_j[r + k] + c_k v_k[r + j] + c_j c_k (v_j^T Omega^+ v_k + P_jk / alpha),
  risk = E[e^2] (population MSE of the network before the step).

Omega^+ is the Moore-Penrose pseudo-inverse from a symmetric eigendecomposition, eigenvalues
below PINV_RTOL x the largest dropped (Omega is singular with symmetric initialisation).
Expectations are weighted sums over points g_i (standard normal vectors of dimension r + p)
mapped through the clipped symmetric square root F of Omega (dmft.sampling.gaussian_factor):
(z, lambda)_i = F g_i.  Monte Carlo: g_i drawn once per replica (common random numbers for all
steps), weights 1/N.  Gauss-Hermite: the tensor grid of ``nodes`` probabilists' nodes per
dimension with the product weights.  ``expectations`` is the numba kernel (one pass over the
points); ``expectations_numpy`` the same sums by chunked BLAS (benchmark reference).
"""
from __future__ import annotations

import numba
import numpy as np

from dmft.sampling import gaussian_factor

from .giant_step_hermite import act, act_prime, target_value

PINV_RTOL = 1e-10
CHUNK = 65536          # points per block of the numpy reference


@numba.njit(cache=True)
def expectations(G, weights, F, r, a_scaled, code, coefs, degrees):
    """(v (p, r+p), P (p, p), risk) of the module docstring, as sum_i weights_i f(F g_i).

    ``a_scaled`` = a / sqrt(p); ``code`` the activation code; (coefs, degrees) the target."""
    N, D = G.shape
    p = D - r
    v = np.zeros((p, D))
    P = np.zeros((p, p))
    risk = 0.0
    x = np.empty(D)
    ds = np.empty(p)
    for i in range(N):
        for a in range(D):
            s = 0.0
            for b in range(D):
                s += G[i, b] * F[b, a]
            x[a] = s
        e = target_value(x[:r], coefs, degrees)
        for j in range(p):
            e -= a_scaled[j] * act(x[r + j], code)
            ds[j] = act_prime(x[r + j], code)
        w = weights[i]
        risk += w * e * e
        for j in range(p):
            phi = w * e * ds[j]
            for a in range(D):
                v[j, a] += phi * x[a]
            for k in range(p):
                P[j, k] += phi * e * ds[k]
    return v, P, risk


def expectations_numpy(G, weights, F, r, a_scaled, code, coefs, degrees):
    """The same sums as ``expectations`` with numpy array operations in blocks of CHUNK points."""
    from .giant_step_hermite import activate, target_values
    D = G.shape[1]
    p = D - r
    v, P, risk = np.zeros((p, D)), np.zeros((p, p)), 0.0
    for start in range(0, G.shape[0], CHUNK):
        X = G[start:start + CHUNK] @ F
        w = weights[start:start + CHUNK]
        s, ds = activate(X[:, r:], code)
        e = target_values(np.ascontiguousarray(X[:, :r]), coefs, degrees) - s @ a_scaled
        phi = (w * e)[:, None] * ds
        v += phi.T @ X
        P += (phi * e[:, None]).T @ ds
        risk += float(np.sum(w * e * e))
    return v, P, risk


def pseudo_inverse(omega: np.ndarray) -> np.ndarray:
    """Moore-Penrose inverse of a symmetric PSD matrix (eigenvalues < PINV_RTOL max dropped)."""
    lam, V = np.linalg.eigh(0.5 * (omega + omega.T))
    keep = lam > PINV_RTOL * max(lam.max(), 0.0)
    return (V[:, keep] / lam[keep]) @ V[:, keep].T


def overlap_matrix(M: np.ndarray, Q: np.ndarray) -> np.ndarray:
    r = M.shape[1]
    return np.block([[np.eye(r), M.T], [M, Q]])


def gauss_hermite_points(nodes: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor grid (nodes^dim, dim) of probabilists' Gauss-Hermite nodes and weights summing to 1."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    grids = np.meshgrid(*([x] * dim), indexing="ij")
    weights = np.prod(np.meshgrid(*([w] * dim), indexing="ij"), axis=0)
    return np.stack([g.ravel() for g in grids], axis=1), weights.ravel()


def step(M, Q, G, weights, a, eta, alpha, code, target, kernel=expectations):
    """Expectations at (M, Q): returns (M_next, Q_next, risk, clipped fraction)."""
    r, p = M.shape[1], M.shape[0]
    omega = overlap_matrix(M, Q)
    F, clipped = gaussian_factor(omega)
    v, P, risk = kernel(G, weights, F, r, a / np.sqrt(p), code, target.coefs, target.degrees)
    c = eta * np.sqrt(p) * a
    A = c[:, None] * v[:, r:]
    M_next = M + c[:, None] * v[:, :r]
    Q_next = Q + A + A.T + np.outer(c, c) * (v @ pseudo_inverse(omega) @ v.T + P / alpha)
    return M_next, 0.5 * (Q_next + Q_next.T), risk, clipped
