"""Two-time arrays with the project's one discrete convention.

Storage is a dense (N, N) float64 array ``X[i, j] = X(t_i, t_j)`` so numba kernels take it
directly.  The containers own the conventions so that no loop has to remember them:

* ``Correlation`` (C, C_g, C_A, ...): symmetric, C[i, j] = C[j, i]; kernels compute the
  causal row (t_i, t_j), j <= i, and mirror it.
* ``Response`` (R, R_A, ...): strictly causal, R[i, j] = 0 for j >= i (Ito convention:
  R(t, t) = 0 on the diagonal).  For an Ito-type response the jump is R[j+1, j] = 1, the
  discrete form of R(s^+, s) = 1.
* ``Kernel`` (memory kernels such as Gamma): causal including the diagonal, which holds
  the instantaneous (delta) part with its quadrature weight; K[i, j] = 0 for j > i.
"""
from __future__ import annotations

import numpy as np


class TwoTime:
    """Dense (N, N) two-time array."""

    def __init__(self, n: int | None = None, data: np.ndarray | None = None):
        if data is None:
            data = np.zeros((n, n))
        data = np.ascontiguousarray(data, dtype=float)
        if data.ndim != 2 or data.shape[0] != data.shape[1]:
            raise ValueError(f"a two-time array must be square (got shape {data.shape})")
        self.data = data


class Correlation(TwoTime):
    """Symmetric two-time function."""

    def asymmetry(self) -> float:
        return float(np.max(np.abs(self.data - self.data.T), initial=0.0))

    def min_eigenvalue(self) -> float:
        return float(np.linalg.eigvalsh(self.data)[0])


class Response(TwoTime):
    """Strictly causal two-time function, R[i, j] = 0 for j >= i."""

    def causality_violation(self) -> float:
        """max |R[i, j]| over j >= i (0 for a causal array)."""
        return float(np.max(np.abs(np.triu(self.data)), initial=0.0))

    def jump_error(self) -> float:
        """max |R[j+1, j] - 1| (0 for an Ito-type response)."""
        return float(np.max(np.abs(np.diagonal(self.data, -1) - 1.0), initial=0.0))


class Kernel(TwoTime):
    """Causal two-time kernel including the diagonal, K[i, j] = 0 for j > i."""

    def causality_violation(self) -> float:
        return float(np.max(np.abs(np.triu(self.data, 1)), initial=0.0))
