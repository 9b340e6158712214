"""Reference integrators of ``linear-network`` (linear_network.md sections 1 and 7).

The closed form of ``solvers/linear_network.py`` is validated against direct integration of the
same 2d-dimensional flow from the same initial vectors u(0), w(0):

  du/dt = -eta_u r w,   dw/dt = -eta_w r u,   r = kappa (kappa u.w - c) = kappa (F - c),

the gradient flow of L = (F - c)^2 / 2 with F = kappa u.w and layer-wise learning rates.

* ``integrate_flow``: high-accuracy integration with scipy's explicit Runge-Kutta of order 8
  (Dormand-Prince, ``solve_ivp(method="DOP853")``) at rtol = 1e-12, atol = 1e-14.  On order-one
  weights and order-one times its global error is ~1e-11, well below the 1e-8 the closed form
  is checked to.  It is a poor reference near the saddle u = w = 0: from a tiny initialisation
  (the absolute tolerance is then large relative to the weights) or along the saddle's stable
  manifold (B = 0 with c < 0, A = 0 with c > 0, where its errors grow like
  exp(2 sqrt(eta_u eta_w) kappa |c| t)).  scipy's DOP853 can also stop ("required step size is
  less than spacing between numbers") when its error norm underflows, e.g. for weights ~1e-160.
* ``gradient_descent``: plain GD with step ``step`` and the simultaneous update
  u <- u - step eta_u r w,  w <- w - step eta_w r u  (r from the old u, w).  It is not solved
  exactly; it approaches the flow with an O(step) error (section 7).

Both return ``(u, w)`` of shape (len(t), width), row k at time t[k].
"""
from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

RTOL = 1e-12   # relative tolerance of integrate_flow
ATOL = 1e-14   # absolute tolerance of integrate_flow


def _check(u0, w0, t):
    u0 = np.asarray(u0, dtype=float)
    w0 = np.asarray(w0, dtype=float)
    t = np.asarray(t, dtype=float)
    if u0.ndim != 1 or u0.shape != w0.shape or u0.size == 0:
        raise ValueError(f"u0 and w0 must be non-empty vectors of equal length "
                         f"(got shapes {u0.shape} and {w0.shape})")
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"t must be a non-empty 1-d array of times (got shape {t.shape})")
    if not np.all(np.isfinite(t)) or t[0] < 0 or np.any(np.diff(t) < 0):
        raise ValueError("t must be finite, >= 0 and non-decreasing")
    return u0, w0, t


def _rhs(kappa, c, eta_u, eta_w, d):
    def rhs(_, y):
        u, w = y[:d], y[d:]
        r = kappa * (kappa * (u @ w) - c)
        return np.concatenate((-eta_u * r * w, -eta_w * r * u))
    return rhs


def integrate_flow(u0, w0, kappa, c, eta_u, eta_w, t, *, rtol=RTOL, atol=ATOL):
    """u(t), w(t) of the gradient flow by DOP853 (rtol 1e-12, atol 1e-14), starting at time 0.

    ``t`` (times >= 0, non-decreasing) are the output times; the result has shape (len(t), width).
    Raises RuntimeError if the integrator fails.
    """
    u0, w0, t = _check(u0, w0, t)
    d = len(u0)
    y0 = np.concatenate((u0, w0))
    if t[-1] == 0:
        return np.tile(u0, (len(t), 1)), np.tile(w0, (len(t), 1))
    sol = solve_ivp(_rhs(kappa, c, eta_u, eta_w, d), (0.0, float(t[-1])), y0, method="DOP853",
                    t_eval=t, rtol=rtol, atol=atol)
    if not sol.success or sol.y.shape[1] != len(t):
        raise RuntimeError(f"integrate_flow: DOP853 failed before t = {t[-1]:g} "
                           f"(status {sol.status}: {sol.message})")
    return sol.y[:d].T.copy(), sol.y[d:].T.copy()


def gradient_descent(u0, w0, kappa, c, eta_u, eta_w, step, t):
    """u, w of plain GD with step ``step``, recorded at the times ``t``.

    Every requested time must be a multiple of ``step`` within round-off (relative 1e-9);
    otherwise ValueError.  Time t = k step is the state after k updates.
    """
    u0, w0, t = _check(u0, w0, t)
    if not (np.isfinite(step) and step > 0):
        raise ValueError(f"step must be finite and > 0 (got {step!r})")
    k = t / step
    n = np.rint(k)
    if np.any(np.abs(k - n) > 1e-9 * np.maximum(1.0, k)):
        bad = float(t[np.argmax(np.abs(k - n))])
        raise ValueError(f"requested time {bad!r} is not a multiple of step = {float(step)!r}")
    n = n.astype(np.int64)
    u, w = u0.copy(), w0.copy()
    U, W = np.empty((len(t), len(u0))), np.empty((len(t), len(u0)))
    done = 0
    for row, target in enumerate(n):
        for _ in range(target - done):
            r = kappa * (kappa * (u @ w) - c)
            u, w = u - step * eta_u * r * w, w - step * eta_w * r * u
        done = target
        U[row], W[row] = u, w
    return U, W
