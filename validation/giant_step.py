"""Finite-d simulation of ``giant-step`` (giant_step.md sections 5-6): the protocol the state
evolution describes, in dimension d.

Per realisation k (``generator(seed, d, k)``), draws in this order: the teacher W* (r, d) with
orthonormal rows; W^0 (solvers.giant_step_network.first_layer with W*: rows orthogonal to the
teacher subspace and of unit norm, duplicated into pairs for init=symmetric, so M_0 = 0 and
Q_0 equal the state evolution's initial values); then for t = 0..steps a fresh batch
X (n, d), n = round(alpha d), with y = g*(X W*^T) (noiseless).  On batch t the network
W^t is evaluated: risk_t = mean_i (y_i - f(x_i))^2 (an unbiased estimate of the population risk,
the batch being independent of W^t), M_t = W^t W*^T, Q_t = W^t W^T; for t < steps the giant
step W^{t+1} = W^t + eta p G (solvers.giant_step_network.gradient) with the second layer a of
solvers.giant_step.second_layer fixed.

Observables: those of solvers.giant_step.summaries and ``risk`` (mean and standard error over
realisations).  overlap_k = mean_j |M_jk| is biased upwards by O(d^-1/2) where its limit is 0
(after step 1 for the second direction of z1+z1z2, always for he2), so it is stored with its
standard error as the order parameter ``overlap`` (steps+1, r) rather than compared by
``dmft validate``; M and Q (means over realisations) are the order parameters ``M``, ``Q``.
"""
from __future__ import annotations

import numpy as np

from dmft.simulation import Simulator, mean_and_stderr, run_realisations
from solvers.giant_step import second_layer, summaries
from solvers.giant_step_hermite import activation_code, make_target
from solvers.giant_step_network import first_layer, forward, gradient, teacher


def realisation(rng, p, d, target, code):
    """M (steps+1, p, r), Q (steps+1, p, p), risk (steps+1,) of one finite-d run."""
    n = max(1, int(round(p["alpha"] * d)))
    a = second_layer(p["p"], p["init"])
    Wstar = teacher(rng, d, target.r)
    W = first_layer(rng, d, p["p"], p["init"], Wstar)
    T = p["steps"]
    M, Q, risk = np.empty((T + 1, p["p"], target.r)), np.empty((T + 1, p["p"], p["p"])), np.empty(T + 1)
    for t in range(T + 1):
        X = rng.standard_normal((n, d))
        f, ds = forward(W, a, X, code)
        residual = target(X @ Wstar.T) - f
        risk[t], M[t], Q[t] = np.mean(residual**2), W @ Wstar.T, W @ W.T
        if t < T:
            W = W + p["eta"] * p["p"] * gradient(a, X, residual, ds)
    return M, Q, risk


class GiantStepSimulator(Simulator):
    name = "giant-step"

    def simulate(self, p, d, seeds, seed, run):
        target, code = make_target(p["target"], p["g_star"]), activation_code(p["activation"])
        a = second_layer(p["p"], p["init"])
        kept = {"M": [], "Q": [], "overlap": []}

        def one(rng):
            M, Q, risk = realisation(rng, p, d, target, code)
            values = summaries(M, Q, a, p["init"])
            kept["M"].append(M)
            kept["Q"].append(Q)
            kept["overlap"].append(np.stack([values.pop(f"overlap_{k + 1}") for k in range(target.r)], axis=1))
            return {"risk": risk, **values}

        t = np.arange(p["steps"] + 1, dtype=float)
        result = run_realisations(self.name, p, t, d, seeds, seed, run, one, method="giant-steps",
                                  n=max(1, int(round(p["alpha"] * d))))
        result.order = mean_and_stderr({k: np.array(v) for k, v in kept.items()})
        return result
