"""The Gaussian model of ``two-layer`` built from random tensors (two_layer.md §2.6, D.17–D.18).

For every sample mu and every degree j with h_j > 0 a tensor J^(j)_mu in (R^d)^{(x) j} with iid
N(0, 1) entries, independent across mu and j, and c_j = sqrt(h_j):

    G_mu(w) = sum_j c_j <J^(j)_mu, w^{(x) j}>,        E[G_mu(w) G_mu(w')] = h(<w, w'>)
    f^g_mu(a, W) = (1/m) sum_i a_i G_mu(w_i)
    phi^g_mu = sum_j (phi_j / c_j) <J^(j)_mu, u*^{(x) j}>   (single index; E[phi^g G(w)] = phi_hat(<u*, w>),
                                                            Var phi^g = sum_j phi_j^2 / h_j = ||phi||^2)

(the independent chi_mu of §2.6 has variance ||phi||^2 - sum_j phi_j^2/c_j^2, which is 0 because
the package defines ||phi||^2 as that sum, so it is not drawn).

Each tensor is symmetrised once over its d-slots, S^(j) = (1/j!) sum_perm J^(j)_perm, which leaves
G unchanged and makes grad_w <S, w^j> = j S[w^{j-1}].  The contraction with all m neurons at once
is one BLAS product W @ S.reshape(d, n d^{j-1}) (cost n d^j m; S is stored slot-first, which
makes it ~1.6x faster than the thin product S.reshape(n d^{j-1}, d) @ W^T at d = 100, n = 150)
followed by j - 2 cheaper contractions; for degree 2 it is the batched quadratic form G = c_1 <J1, w> + c_2 w^T S2 w.
Memory per realisation: n d^j floats for J^(j), as much again for its symmetrisation (j >= 2), and
n d^{j-1} m for the first contraction (``tensor_bytes``); MAX_BYTES bounds it.
"""
from __future__ import annotations

import math
from itertools import permutations

import numpy as np

from dmft.model import ParameterError

MAX_BYTES = 2 * 10**9


def tensor_bytes(n: int, d: int, m: int, degrees) -> int:
    """Peak bytes of the tensors (and their symmetrised copies and first contractions)."""
    total = 0
    for j in degrees:
        total += n * d**j * (2 if j >= 2 else 1) + (n * d ** (j - 1) * m if j >= 2 else 0)
    return 8 * total


def check_memory(n: int, d: int, m: int, degrees) -> None:
    """ParameterError naming 'h' (and d) if the tensors of one realisation exceed MAX_BYTES."""
    need = tensor_bytes(n, d, m, degrees)
    if need > MAX_BYTES:
        raise ParameterError(
            f"parameter 'h': degree {max(degrees)} at d = {d}, n = {n} needs {need / 1e9:.1f} GB of "
            f"random tensors per realisation (limit {MAX_BYTES / 1e9:.0f} GB of the 'gaussian' "
            f"simulation): lower 'd' or the degree of 'h'")


def symmetrise(J: np.ndarray) -> np.ndarray:
    """The symmetrised tensor (1/j!) sum_perm J_perm of J (n, d, ..., d), stored slot-first as
    (d, n, d, ..., d) so that the contraction of its first slot is one fat BLAS product (degree 1:
    J unchanged)."""
    j = J.ndim - 1
    if j < 2:
        return J
    S = np.zeros((J.shape[1], J.shape[0]) + J.shape[2:])
    for perm in permutations(range(1, j + 1)):
        S += np.moveaxis(J.transpose((0, *perm)), 0, 1)
    S /= math.factorial(j)
    return S


def contract(S: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a symmetrised tensor S of degree j (``symmetrise``) and rows w_i of W (m, d):
    (values <S_mu, w_i^j> (n, m), B = S_mu[w_i^{j-1}] (m, n, d)), so grad_w <S_mu, w^j> = j B;
    degree 1 (S = J1 (n, d)): B is not formed (None)."""
    if S.ndim == 2:
        return S @ W.T, None
    d, n, m = S.shape[0], S.shape[1], W.shape[0]
    A = W @ S.reshape(d, -1)                        # (m, n d^{j-1}): the BLAS product
    for _ in range(S.ndim - 3):
        A = np.einsum("mad,md->ma", A.reshape(m, -1, d), W)
    B = A.reshape(m, n, d)
    return np.einsum("mnd,md->nm", B, W), B


class GaussianModel:
    """One realisation of the Gaussian model: tensors, labels y = phi^g + eps."""

    def __init__(self, tensors: dict[int, np.ndarray], c: np.ndarray, y: np.ndarray):
        self.S = {j: symmetrise(J) for j, J in tensors.items()}
        self.c = c                       # c[j - 1] = sqrt(h_j)
        self.y = y
        self.n, self.d = len(y), next(iter(tensors.values())).shape[-1]

    @classmethod
    def sample(cls, h: np.ndarray, phi: np.ndarray | None, u: np.ndarray, n: int, tau: float,
               rng: np.random.Generator) -> "GaussianModel":
        """Draw J^(j) for the degrees with h_j > 0 in increasing j, then eps = tau N(0, 1)^n;
        phi None means pure noise."""
        d = len(u)
        c = np.sqrt(h)
        tensors = {j: rng.standard_normal((n,) + (d,) * j) for j in range(1, len(h) + 1) if h[j - 1] > 0}
        eps = tau * rng.standard_normal(n)
        model = cls(tensors, c, eps)
        if phi is not None:
            target = np.zeros(n)
            for j, S in model.S.items():
                if phi[j - 1] != 0:
                    target += phi[j - 1] / c[j - 1] * contract(S, u[None, :])[0][:, 0]
            model.y = target + eps
        return model

    def field(self, W: np.ndarray) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """(G_mu(w_i) (n, m), {j: S^(j)_mu[w_i^{j-1}] (m, n, d)})."""
        G = np.zeros((self.n, W.shape[0]))
        B = {}
        for j, S in self.S.items():
            value, B[j] = contract(S, W)
            G += self.c[j - 1] * value
        return G, B

    def gradients(self, a: np.ndarray, W: np.ndarray):
        """(Delta = y - f^g (n,), grad_a, grad_W (m, d)) of R^g = (1/2n) |y - f^g|^2:
        grad_a_i = -(1/nm) sum_mu Delta_mu G_mu(w_i), grad_w_i = -(a_i/nm) sum_mu Delta_mu grad G_mu(w_i)."""
        m = len(a)
        G, B = self.field(W)
        delta = self.y - G @ a / m
        pull = np.zeros((m, self.d))          # row i: sum_mu Delta_mu grad G_mu(w_i)
        for j, Bj in B.items():
            if j == 1:
                pull += self.c[0] * (delta @ self.S[1])
            else:
                pull += j * self.c[j - 1] * np.matmul(delta, Bj)
        scale = -1.0 / (self.n * m)
        return delta, scale * (G.T @ delta), scale * a[:, None] * pull
