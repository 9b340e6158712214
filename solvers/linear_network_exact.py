"""Closed-form gradient flow of a one-hidden-layer linear network with scalar input at any width
(linear_network.md; Xu & Ziyin arXiv:2401.07085).

  f(x) = kappa (u.w) x = F x,  L = (F - c)^2 / 2,  du/dt = -eta_u r w,  dw/dt = -eta_w r u,
  r = kappa (F - c).

With g = sqrt(eta_u eta_w), P0 = u0/sqrt(eta_u) + w0/sqrt(eta_w), Q0 = u0/sqrt(eta_u) - w0/sqrt(eta_w),
A = |P0|^2, B = |Q0|^2, the whole trajectory is driven by one scalar z(t) (Riccati):

  dz/dt = (kappa^2 g^2 / 2)(A - B z^2) - 2 g kappa c z,  z(0) = 1,
  u = (sqrt(eta_u)/2)(P0 z^-1/2 + Q0 z^1/2),  w = (sqrt(eta_w)/2)(P0 z^-1/2 - Q0 z^1/2).

``riccati_z`` evaluates z(t) in a form that stays exact and stable through the degenerate cases
A = 0, B = 0, c = 0 (docs/models/linear_network.md).  The time grid only chooses output times.
"""
from __future__ import annotations

import numpy as np


def initial_weights(p) -> tuple[np.ndarray, np.ndarray]:
    """u(0), w(0): given explicitly (u0, w0) or drawn N(0, sigma^2) from ``seed``."""
    if p["u0"] is not None:
        return np.array(p["u0"], dtype=float), np.array(p["w0"], dtype=float)
    rng = np.random.default_rng(np.random.SeedSequence([p["seed"]]))
    return p["sigma_u"] * rng.standard_normal(p["width"]), p["sigma_w"] * rng.standard_normal(p["width"])


def riccati_z(t: np.ndarray, A: float, B: float, kappa: float, g: float, c: float) -> np.ndarray:
    """z(t) solving dz/dt = (kappa^2 g^2/2)(A - B z^2) - 2 g kappa c z, z(0) = 1.

    With beta = 4c/(kappa g) and delta = sqrt(beta^2 + 4AB), the roots of B z^2 + beta z - A are
    z_+ >= 0 >= z_- and sqrt(D) = kappa^2 g^2 delta / 2.  The boxed solution of
    linear_network.md, (z - z_+)/(z - z_-) = q e with q = (1 - z_+)/(1 - z_-) and
    e = exp(-sqrt(D) t), is z = N/M with, for iota = 1/(1 - z_-),

      beta >= 0:  N = z_+ + (1 - z_+)(1 - iota) e = (1 - iota) + iota z_+ + (1 - iota)(z_+ - 1) m
                  M = 1 - (1 - z_+) iota e        = (1 - iota) + iota z_+ + iota (1 - z_+) m
      beta < 0 (zeta = 1/z_+, n0 = zeta (1 - iota) + iota; N, M divided by z_+):
                  N = 1 - z_- (zeta - 1) iota e   = n0 + z_- (zeta - 1) iota m
                  M = zeta - (zeta - 1) iota e    = n0 + (zeta - 1) iota m

    where m = 1 - e = -expm1(-sqrt(D) t).  For z_+ >= 1 the m-form of N and the e-form of M, for
    z_+ < 1 the e-form of N and the m-form of M, have only non-negative terms, so nothing cancels,
    also near the degenerate cases (A or B -> 0 with any c, and tiny c).  Exactly at B = 0
    (iota = 0, or zeta = 0 for c < 0, where z grows without bound and F -> 0+) and A = 0
    (z_+ = 0 or z_- = 0) the same expressions hold; D = 0 (c = 0 and AB = 0) is linear:
    z = 1 + kappa^2 g^2 A t/2, or 1/z = 1 + kappa^2 g^2 B t/2.
    """
    t = np.asarray(t, dtype=float)
    half = 0.5 * kappa**2 * g**2
    beta = 4.0 * c / (kappa * g)
    delta = np.sqrt(beta**2 + 4.0 * A * B)
    if delta == 0.0:
        return 1.0 + half * A * t if A > 0 else 1.0 / (1.0 + half * B * t)
    x = half * delta * t
    e, m = np.exp(-x), -np.expm1(-x)
    if beta >= 0:
        z_plus = 2.0 * A / (beta + delta)
        iota = 2.0 * B / (2.0 * B + beta + delta)           # z_- = -(beta + delta)/(2B)
        n0 = (1.0 - iota) + iota * z_plus
        if z_plus >= 1.0:
            return (n0 + (1.0 - iota) * (z_plus - 1.0) * m) / (1.0 + (z_plus - 1.0) * iota * e)
        return (z_plus + (1.0 - z_plus) * (1.0 - iota) * e) / (n0 + iota * (1.0 - z_plus) * m)
    zeta = 2.0 * B / (delta - beta)                          # 1/z_+,  z_+ = (delta - beta)/(2B)
    z_minus = -2.0 * A / (delta - beta)
    iota = 1.0 / (1.0 - z_minus)
    n0 = zeta * (1.0 - iota) + iota
    with np.errstate(divide="ignore"):                       # B = 0: z -> infinity, F -> 0+
        if zeta <= 1.0:
            return (n0 + z_minus * (zeta - 1.0) * iota * m) / (zeta - (zeta - 1.0) * iota * e)
        return (1.0 - z_minus * (zeta - 1.0) * iota * e) / (n0 + (zeta - 1.0) * iota * m)


def trajectory(u0, w0, kappa, c, eta_u, eta_w, t):
    """u(t), w(t) (shape (len(t), width)) of the exact flow."""
    su, sw = np.sqrt(eta_u), np.sqrt(eta_w)
    P0, Q0 = u0 / su + w0 / sw, u0 / su - w0 / sw
    A, B = P0 @ P0, Q0 @ Q0
    root = np.sqrt(riccati_z(t, A, B, kappa, su * sw, c))[:, None]
    # a term whose vector vanishes (A = 0 or B = 0) is dropped: z may be 0 or infinite there
    p_part = P0 / root if A > 0 else np.zeros((len(t), len(P0)))
    q_part = Q0 * root if B > 0 else np.zeros((len(t), len(Q0)))
    return 0.5 * su * (p_part + q_part), 0.5 * sw * (p_part - q_part)


def observables(u, w, kappa, c, eta_u, eta_w) -> dict[str, np.ndarray]:
    """F, K, zeta, norms, loss and the conserved quantities, computed from the weight vectors."""
    S = np.sum(u * w, axis=-1)
    u2, w2 = np.sum(u * u, axis=-1), np.sum(w * w, axis=-1)
    F = kappa * S
    K = kappa**2 * (eta_u * w2 + eta_w * u2)
    norms = np.sqrt(u2 * w2)
    with np.errstate(invalid="ignore", divide="ignore"):
        zeta = np.where(norms > 0, S / norms, np.nan)          # undefined for a zero vector
    return {"F": F, "K": K, "zeta": zeta, "u_norm": np.sqrt(u2), "w_norm": np.sqrt(w2),
            "loss": 0.5 * (F - c) ** 2,
            "Delta": eta_w * u2 - eta_u * w2,                         # layer imbalance
            "Omega": u2 * w2 - S**2,                                  # squared area of (u, w)
            "kernel_invariant": K**2 - 4 * eta_u * eta_w * kappa**2 * F**2}


def final_slope(u0, w0, c, eta_u, eta_w) -> float:
    """lim F(t): c, except when the flow cannot change the sign of F (linear_network.md 3):
    B = 0 keeps F >= 0 (F -> max(c, 0)), A = 0 keeps F <= 0 (F -> min(c, 0)), A = B = 0 is a
    fixed point (F = 0)."""
    su, sw = np.sqrt(eta_u), np.sqrt(eta_w)
    A, B = np.sum((u0 / su + w0 / sw) ** 2), np.sum((u0 / su - w0 / sw) ** 2)
    if A > 0 and B > 0:
        return c
    if A > 0:
        return max(c, 0.0)
    return min(c, 0.0) if B > 0 else 0.0


def phase_summary(u0, w0, kappa, c, eta_u, eta_w) -> dict[str, float]:
    """Exact end-of-training quantities of linear_network.md section 4 (no integration needed):
    K_inf = sqrt(C + a F_inf^2), zeta_inf^2 = S^2/(S^2 + Omega) with S = F_inf/kappa and the sign of
    F_inf (for parallel u, w with F_inf = 0 the angle keeps its initial value), and the norm
    product |u||w| = sqrt(S^2 + Omega) at the start and at the end."""
    o = observables(u0, w0, kappa, c, eta_u, eta_w)
    F_inf = final_slope(u0, w0, c, eta_u, eta_w)
    K_inf = float(np.sqrt(o["kernel_invariant"] + 4 * eta_u * eta_w * kappa**2 * F_inf**2))
    S2, omega = (F_inf / kappa) ** 2, o["Omega"]
    parallel = omega <= 1e-12 * (o["u_norm"] * o["w_norm"]) ** 2
    if S2 == 0 and parallel:
        zeta_inf = float(o["zeta"])
    else:
        zeta_inf = float(np.sign(F_inf) * np.sqrt(S2 / (S2 + (0.0 if parallel else omega))))
    return {"K_0": float(o["K"]), "K_inf": K_inf, "kernel_ratio": K_inf / float(o["K"]) if o["K"] > 0 else np.nan,
            "zeta_0": float(o["zeta"]), "zeta_inf": zeta_inf, "F_0": float(o["F"]), "F_inf": F_inf,
            "norm_0": float(o["u_norm"] * o["w_norm"]), "norm_inf": float(np.sqrt(S2 + omega))}
