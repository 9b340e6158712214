"""Numba row kernels of the weight side of the discrete GLM DMFT (glm.md section 3).

Grid weights ``w[j] = t[j+1] - t[j]`` (left rule); with them the discrete equations are the
exact DMFT of gradient descent with step w[j].  Conventions: R[i, j] = 0 for j >= i and
R[j+1, j] = 1; Gamma[i, k] (k <= i) already contains the quadrature weight, Gamma[i, i] being
the instantaneous part; C and C_g symmetric.  The weight side is linear and Gaussian for any
loss: given the sample-side Gamma, C_g and teacher drift b it is

  weight_row(i):  C[i, j] = rho c_i c_j + q0 a_i a_j + (1/alpha) sum_{k<i, l<j} R_ik w_k C_g,kl w_l R_jl
  advance(i):     c_{i+1} = c_i - w_i (ridge c_i + b_i)
                  a_{i+1} = a_i - w_i (ridge a_i + sum_{j<=i} Gamma_ij a_j)
                  R_{i+1,j} = R_ij - w_i (ridge R_ij + sum_{k=j+1}^{i} Gamma_ik R_kj),  R_{i+1,i} = 1

(each O(i^2)), with c_0 = m0 = w(0).w*/rho and a_0 = 1.

``fastmath={"reassoc", "contract"}`` lets numba vectorise the sums (results are deterministic
for a given build; NaN and infinity still propagate, so divergence is still detected).
"""
from __future__ import annotations

from numba import njit

FAST = {"reassoc", "contract"}

ORDER_PARAMETERS = {   # the order parameters of every model solved with this weight side
    "C": "C(t,s) = w(t).w(s)",
    "R": "response R(t_i,t_j) = (1/dt) d<u_i>/dH_j (R=0 for j>=i, R(t_j+dt,t_j)=1)",
    "C_g": "gradient (residual) correlation C_g(t,s) = E[g(t) g(s)]",
    "Gamma": "memory kernel with weights; diagonal = instantaneous part E[l'']",
}


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
