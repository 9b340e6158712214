"""The finite-d two-layer network of ``giant-step`` (giant_step.md sections 2 and 6): teacher and
first-layer draws, the giant gradient step, the ridge readout and the authors' notebook protocol.

  f(x) = sum_j a_j sigma(w_j.x) / sqrt(p),
  G_j = (1/n) sum_i res_i a_j / sqrt(p) sigma'(w_j.x_i) x_i,   W <- W + eta_full G,
  ridge:  a_hat = (Phi^T Phi / p + lam I_p)^{-1} Phi^T y / sqrt(p)
              = Phi^T (Phi Phi^T / p + lam I_n)^{-1} y / sqrt(p)   (dual form, used when n < p),
          Phi_ij = sigma(w_j.x_i).
"""
from __future__ import annotations

import numpy as np
from scipy import linalg

from .giant_step_hermite import Target, activate

TEST_CHUNK = 10000


def teacher(rng: np.random.Generator, d: int, r: int) -> np.ndarray:
    """W* (r, d) with orthonormal rows (QR of a Gaussian matrix)."""
    q, _ = np.linalg.qr(rng.standard_normal((d, r)))
    return q.T.copy()


def first_layer(rng: np.random.Generator, d: int, p: int, init: str, Wstar: np.ndarray | None = None
                ) -> np.ndarray:
    """W^0 (p, d).  Without ``Wstar``: iid N(0, 1/d) entries (the notebooks).  With ``Wstar``: the
    rows are projected orthogonally to the teacher subspace and normalised, so M_0 = 0 and
    Q_0jj = 1 exactly, the state evolution's initial condition.  init=symmetric duplicates p/2
    independent rows into the pairs (2i, 2i+1)."""
    rows = p // 2 if init == "symmetric" else p
    W = rng.standard_normal((rows, d)) / np.sqrt(d)
    if Wstar is not None:
        W -= (W @ Wstar.T) @ Wstar
        W /= np.linalg.norm(W, axis=1, keepdims=True)
    return np.repeat(W, 2, axis=0) if init == "symmetric" else W


def forward(W: np.ndarray, a: np.ndarray, X: np.ndarray, code: int):
    """(f(X), sigma'(X W^T)) of the network on the rows of X."""
    s, ds = activate(X @ W.T, code)
    return s @ a / np.sqrt(len(a)), ds


def gradient(a: np.ndarray, X: np.ndarray, residual: np.ndarray, ds: np.ndarray) -> np.ndarray:
    """G (p, d) of the module docstring from the residual y - f and sigma'(X W^T)."""
    return ((residual[:, None] * ds) * (a / np.sqrt(len(a)))).T @ X / X.shape[0]


def ridge_readout(Phi: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """a_hat of the module docstring (primal if p <= n, dual otherwise)."""
    n, p = Phi.shape
    if p <= n:
        return linalg.solve(Phi.T @ Phi / p + lam * np.eye(p), Phi.T @ y / np.sqrt(p), assume_a="pos")
    return Phi.T @ linalg.solve(Phi @ Phi.T / p + lam * np.eye(n), y, assume_a="pos") / np.sqrt(p)


def preprocess(X: np.ndarray, y: np.ndarray):
    """(y - A - X B, A, B) with A = mean(y), B = (1/n) sum_i y_i x_i (the notebooks)."""
    A = float(np.mean(y))
    B = X.T @ y / X.shape[0]
    return y - A - X @ B, A, B


def notebook_protocol(fixed: np.random.Generator, rng: np.random.Generator, target: Target, d: int,
                      p: int, n: int, steps: int, code: int, eta_c: float, lam: float, n_test: int):
    """Test and train errors after each of ``steps`` giant steps (giant_step.md section 6.1).

    ``fixed`` draws theta (teacher, r x d), W^0 (iid N(0, 1/d)) and a ~ N(0, I/p), in this order,
    the same for every n and repetition; ``rng`` draws, per step, the batch X (n, d), then the
    test set (n_test, d).  Step t: preprocess the batch (A, B), residual y~ - f(x; W^t, a),
    W <- W + eta_c sqrt(n p) G.  After every step the readout a_hat is fitted by ridge on the
    features of that step's batch with targets y~, and evaluated as
    y_hat = A_test + x.B_test + sum_j a_hat_j sigma(w_j.x) / sqrt(p) with the test set's own
    A_test, B_test (as the notebook does).  Returns (test (steps,), train (steps,))."""
    theta = teacher(fixed, d, target.r)
    W = first_layer(fixed, d, p, "random")
    a = fixed.standard_normal(p) / np.sqrt(p)
    eta = eta_c * np.sqrt(n * p)
    readouts, train = [], np.empty(steps)
    for t in range(steps):
        X = rng.standard_normal((n, d))
        y_tilde, _, _ = preprocess(X, target(X @ theta.T))
        f, ds = forward(W, a, X, code)
        W = W + eta * gradient(a, X, y_tilde - f, ds)
        Phi, _ = activate(X @ W.T, code)
        a_hat = ridge_readout(Phi, y_tilde, lam)
        train[t] = np.mean((Phi @ a_hat / np.sqrt(p) - y_tilde) ** 2)
        readouts.append((W, a_hat))
    X = rng.standard_normal((n_test, d))
    y = target(X @ theta.T)
    _, A, B = preprocess(X, y)
    base = A + X @ B
    test = np.empty(steps)
    for t, (W, a_hat) in enumerate(readouts):
        pred = np.concatenate([forward(W, a_hat, X[i:i + TEST_CHUNK], code)[0]
                               for i in range(0, n_test, TEST_CHUNK)])
        test[t] = np.mean((base + pred - y) ** 2)
    return test, train
