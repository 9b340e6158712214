"""Numba row kernel of the sample side of the square-loss DMFT (glm.md section 6).

For the square loss the sample side is linear, so it closes exactly on the weight side
(``solvers.weight_side``): with label moments e_hy = E[h* y], e_y2 = E[y^2],

  sample_row(i):  J = (I + (1/alpha) R diag(w))^{-1} row i (= Gamma row i);
                  C_g = J Sigma J^T row i,  Sigma_kl = C_kl - (c_k + c_l) e_hy + e_y2;
                  b_i = sum_k J_ik (c_k - e_hy / rho)

in O(i^2), reading C rows <= i.
"""
from __future__ import annotations

from numba import njit

from .weight_side import FAST, symmetric_vecmat


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


