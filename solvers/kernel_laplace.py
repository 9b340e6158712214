"""Gaussian-equivalent structured-covariance DMFT of gradient flow, in the Laplace domain
(kernel.md section 6.3), inverted by the fixed-Talbot method (section 6.4); and the exact
oracle-world curve (section 3).

Groups k of Gaussian features with eigenvalue omega_k, multiplicity m_k and target power p_k,
P samples, label noise sigma2, w(0) = 0.  With c_k = m_k omega_k / P:

  H_k(z) = 1 / (z + omega_k G(z)),   G(z) [1 + sum_k c_k / (z + omega_k G(z))] = 1,
  A(z, z') = sum_k p_k H_k H_k',     B(z, z') = sum_k c_k omega_k H_k H_k',
  C_v = (A + B G G' sigma2/(z z')) / (1 - B G G'),   C_g = G G' (C_v + sigma2/(z z')),
  test(t) = L^-1[C_v](t, t) + sigma2,   train(t) = L^-1[C_g](t, t),
  learned_k(t) = 1 - L^-1[H_k](t)   (the mean of the degree-k coefficient over its target).

For the kernel: groups are degrees l, omega_l = xi_{d,l}, m_l = B(d,l), p_l = |P_(l) f*|^2, P = n.
One group omega = 1, m = d, P = n, p = rho is least squares with alpha = n/d (glm.md section 7).

Fixed Talbot with M nodes per half: r = 2M/(5t), theta_j = j pi/M, s_0 = r,
s_j = r theta_j (cot theta_j + i), weights W_0 = r e^{rt}/(2M),
W_j = r e^{t s_j} (1 + i sigma_j)/(2M), sigma_j = theta_j + (theta_j cot theta_j - 1) cot theta_j,
plus the conjugate nodes; f(t) = Re sum W F(s), f(t, t) = Re sum W W' F(s, s').
G is found by Newton's method at s_0 from the large-z guess and continued along s_1 .. s_{M-1}.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEWTON_TOL = 1e-14
NEWTON_MAX = 200


class InversionError(ArithmeticError):
    """The self-consistent G could not be found on the Talbot contour."""


@dataclass(frozen=True)
class Groups:
    """Feature groups of the Gaussian-equivalent model (arrays of equal length) and P, sigma2."""

    omega: np.ndarray
    multiplicity: np.ndarray
    power: np.ndarray
    samples: float
    sigma2: float

    @property
    def c(self) -> np.ndarray:
        return self.multiplicity * self.omega / self.samples


def talbot(t: np.ndarray, M: int) -> tuple[np.ndarray, np.ndarray]:
    """Upper-half nodes s (len(t), M) and weights W: s_0 = r and s_1 .. s_{M-1} (see module)."""
    t = np.asarray(t, dtype=float)[:, None]
    r = 2 * M / (5 * t)
    theta = np.arange(1, M) * np.pi / M
    cot = 1 / np.tan(theta)
    shape = np.concatenate([[1.0 + 0j], theta * (cot + 1j)])
    sigma = theta + (theta * cot - 1) * cot
    s = r * shape
    w = r / (2 * M) * np.exp(t * s) * np.concatenate([[1.0 + 0j], 1 + 1j * sigma])
    return s, w


def with_conjugates(x: np.ndarray) -> np.ndarray:
    """Append the conjugates of the nodes 1 .. M-1 (last axis): all 2M - 1 nodes."""
    return np.concatenate([x, np.conj(x[..., 1:])], axis=-1)


def _residual(G, z, groups):
    denominator = z[..., None] + groups.omega * G[..., None]
    F = G * (1 + np.sum(groups.c / denominator, axis=-1)) - 1
    dF = 1 + np.sum(groups.c * z[..., None] / denominator**2, axis=-1)
    return F, dF


def _newton(G, z, groups):
    """Newton's method for G(z) at the points z (any shape) from the start G, with step halving."""
    F, dF = _residual(G, z, groups)
    for _ in range(NEWTON_MAX):
        if np.max(np.abs(F)) < NEWTON_TOL:
            return G
        step = F / dF
        scale = np.ones(G.shape)
        for _ in range(40):
            trial = G - scale * step
            F_new, dF_new = _residual(trial, z, groups)
            worse = ~(np.abs(F_new) <= np.abs(F))
            if not worse.any():
                break
            scale = np.where(worse, scale / 2, scale)
        G, F, dF = trial, F_new, dF_new
    if not np.max(np.abs(F)) < 1e-10:
        raise InversionError(f"G(z) did not converge on the Talbot contour (residual {np.max(np.abs(F)):.2g})")
    return G


def memory_transform(s: np.ndarray, groups: Groups) -> np.ndarray:
    """G at the upper nodes s (len(t), M), continued along the contour from s_0."""
    G = np.empty(s.shape, dtype=complex)
    guess = 1 / (1 + np.sum(groups.c) / s[:, 0])
    for j in range(s.shape[1]):
        G[:, j] = _newton(guess.astype(complex), s[:, j], groups)
        guess = G[:, j]
    return G


def curves(groups: Groups, t: np.ndarray, M: int = 24) -> dict[str, np.ndarray]:
    """test_error, train_error (shape (len(t),)) and learned (len(t), groups) at times t > 0."""
    s_up, w_up = talbot(t, M)
    G = with_conjugates(memory_transform(s_up, groups))
    s, w = with_conjugates(s_up), with_conjugates(w_up)
    H = 1 / (s[..., None] + groups.omega * G[..., None])               # (T, N, K)
    A = np.einsum("tak,tbk,k->tab", H, H, groups.power)
    B = np.einsum("tak,tbk,k->tab", H, H, groups.c * groups.omega)
    GG = G[:, :, None] * G[:, None, :]
    noise = groups.sigma2 / (s[:, :, None] * s[:, None, :])
    Cv = (A + B * GG * noise) / (1 - B * GG)
    Cg = GG * (Cv + noise)

    def invert2(F):
        return np.real(np.einsum("ta,tab,tb->t", w, F, w))

    return {"test_error": invert2(Cv) + groups.sigma2, "train_error": invert2(Cg),
            "learned": 1 - np.real(np.einsum("ta,tak->tk", w, H))}


def oracle(xi: np.ndarray, power: np.ndarray, sigma2: float, t: np.ndarray) -> np.ndarray:
    """Exact population GF: sigma2 + sum_l |P_(l) f*|^2 exp(-2 xi_l t) (section 3)."""
    return sigma2 + np.exp(-2 * np.outer(t, xi)) @ power
