"""Numba row kernels of the discrete square-loss DMFT (glm.md sections 3 and 6).

Grid weights ``w[j] = t[j+1] - t[j]`` (left rule); with them the discrete equations are the
exact DMFT of gradient descent with step w[j].  Conventions: R[i, j] = 0 for j >= i and
R[j+1, j] = 1; Gamma[i, k] (k <= i) already contains the quadrature weight, Gamma[i, i] being
the instantaneous part; C and C_g symmetric.  Label moments: e_hy = E[h* y], e_y2 = E[y^2].

Row kernels (each O(i^2)):
  weight_row(i):  C[i, j] = rho c_i c_j + q0 a_i a_j + (1/alpha) sum_{k<i, l<j} R_ik w_k C_g,kl w_l R_jl
  sample_row(i):  J = (I + (1/alpha) R diag(w))^{-1} row i;  C_g = J Sigma J^T row i with
                  Sigma_kl = C_kl - (c_k + c_l) e_hy + e_y2;  b_i = sum_k J_ik (c_k - e_hy / rho)
  advance(i):     c_{i+1} = c_i - w_i (ridge c_i + b_i)
                  a_{i+1} = a_i - w_i (ridge a_i + sum_{j<=i} Gamma_ij a_j)
                  R_{i+1,j} = R_ij - w_i (ridge R_ij + sum_{k=j+1}^{i} Gamma_ik R_kj),  R_{i+1,i} = 1
For the square loss Gamma = J.

``fastmath={"reassoc", "contract"}`` lets numba vectorise the sums (results are deterministic
for a given build; NaN and infinity still propagate, so divergence is still detected).
"""
from __future__ import annotations

from numba import njit

FAST = {"reassoc", "contract"}


@njit(cache=True, fastmath=FAST)
def symmetric_vecmat(f, A, n, out):
    """out[l] = sum_{k<n} f[k] A[k, l] for l < n, reading only the lower triangle of symmetric A."""
    for l in range(n):
        out[l] = 0.0
    for r in range(n):
        fr = f[r]
        acc = 0.0
        for l in range(r):
            out[l] += fr * A[r, l]
            acc += f[l] * A[r, l]
        out[r] += fr * A[r, r] + acc


@njit(cache=True, fastmath=FAST)
def weight_row(i, w, inv_alpha, rho, q0, c, a, R, C_g, C, F, B):
    """Row i of C (mirrored into column i) from R rows <= i and C_g rows < i; F, B are scratch."""
    for k in range(i):
        F[k] = R[i, k] * w[k]
    symmetric_vecmat(F, C_g, i, B)
    for j in range(i + 1):
        s = 0.0
        for l in range(j):
            s += B[l] * w[l] * R[j, l]
        value = rho * c[i] * c[j] + q0 * a[i] * a[j] + inv_alpha * s
        C[i, j] = value
        C[j, i] = value


@njit(cache=True, fastmath=FAST)
def sample_row(i, w, inv_alpha, rho, e_hy, e_y2, c, C, R, J, C_g, b, E):
    """Row i of J (= Gamma), C_g (mirrored) and b_i from C rows <= i; E is scratch."""
    for k in range(i):
        J[i, k] = 0.0
    J[i, i] = 1.0
    for r in range(i):
        f = -inv_alpha * R[i, r] * w[r]
        if f != 0.0:
            for k in range(r + 1):
                J[i, k] += f * J[r, k]
    sum_j = 0.0
    sum_jc = 0.0
    for k in range(i + 1):
        sum_j += J[i, k]
        sum_jc += J[i, k] * c[k]
    symmetric_vecmat(J[i], C, i + 1, E)
    for l in range(i + 1):
        E[l] += -e_hy * sum_jc + (e_y2 - e_hy * c[l]) * sum_j
    for j in range(i + 1):
        s = 0.0
        for l in range(j + 1):
            s += E[l] * J[j, l]
        C_g[i, j] = s
        C_g[j, i] = s
    b[i] = sum_jc - e_hy / rho * sum_j


@njit(cache=True, fastmath=FAST)
def advance(i, w, ridge, c, a, b, Gamma, R):
    """c[i+1], a[i+1] and R[i+1, :i+1] from rows <= i (weight side, explicit step w[i])."""
    h = w[i]
    c[i + 1] = c[i] - h * (ridge * c[i] + b[i])
    s = 0.0
    for j in range(i + 1):
        s += Gamma[i, j] * a[j]
    a[i + 1] = a[i] - h * (ridge * a[i] + s)
    for j in range(i):
        R[i + 1, j] = (1.0 - h * ridge) * R[i, j]
    for k in range(1, i + 1):
        f = -h * Gamma[i, k]
        if f != 0.0:
            for j in range(k):
                R[i + 1, j] += f * R[k, j]
    R[i + 1, i] = 1.0
