"""Quadrature weights on a time grid.

``left_weights``: the explicit (left-point) rule  int_0^{t_i} f(s) ds ~ sum_{j<i} h_j f(t_j),
with h_j = t_{j+1} - t_j.  Used with Euler marching it makes a discretised DMFT the exact
DMFT of gradient descent with learning rates h_j (see docs/conventions.md).

``trapezoid_weights``: int_{t_a}^{t_b} f ~ sum_j w_j f(t_j) with the trapezoid rule
(second order), for schemes that need it.
"""
from __future__ import annotations

import numpy as np


def left_weights(t: np.ndarray) -> np.ndarray:
    """Weights h_j = t[j+1] - t[j], j = 0..N-2, of the left-point rule."""
    return np.diff(np.asarray(t, dtype=float))


def trapezoid_weights(t: np.ndarray, a: int, b: int) -> np.ndarray:
    """Weights w (len N) with sum_j w_j f(t_j) = trapezoid rule for int_{t_a}^{t_b} f.

    Zero outside a..b; 0 everywhere if a == b.
    """
    t = np.asarray(t, dtype=float)
    if not 0 <= a <= b < len(t):
        raise ValueError(f"need 0 <= a <= b < {len(t)} (got a={a}, b={b})")
    w = np.zeros(len(t))
    h = np.diff(t[a:b + 1])
    w[a:b] += h / 2
    w[a + 1:b + 1] += h / 2
    return w
