"""Model ``giant-step``: a two-layer network f(x) = sum_j a_j sigma(w_j.x) / sqrt(p) whose first
layer takes ``steps`` giant gradient steps W <- W + eta G on fresh batches of n = alpha d samples
of a multi-index target y = g*(W* x), second layer fixed (Dandi et al. arXiv:2305.18270;
giant_step.md).  ``solve`` runs the d -> infinity state evolution of (M, Q)
(solvers.giant_step_se); the one-step closed forms are in solvers.giant_step_theory, the
Hermite toolkit in solvers.giant_step_hermite, the finite-d network protocols and the tools
(ridge readout, batch-size sweep) in solvers.giant_step_network / giant_step_tools.

Second layer and initial overlaps (the same in theory and simulation):
  init=symmetric: p/2 pairs (2i, 2i+1) of identical rows with a = +1/sqrt(p), -1/sqrt(p), so
                  f = 0 at start; M_0 = 0, Q_0 = I plus 1 between the twins of a pair;
  init=random:    independent rows, a_j = (-1)^j / sqrt(p); M_0 = 0, Q_0 = I.
The learning rate is eta_full = eta p (the parameter ``eta`` is eta-tilde).

Per-step observables (step index t = 0..steps is the time axis; values before step t+1):
  overlap_k  mean_j |M_jk| (k = 1..r)          m_k     mean_j M_jk
  m_signed_k mean_j sign(a_j) M_jk              risk       population MSE E[(g* - f)^2]
  q_diag     mean_j Q_jj
  q_twin     mean over pairs of Q_{2i,2i+1} (symmetric init only)
  q_cross    mean over j != k not twins of sign(a_j a_k) Q_jk
All are invariant under permutations of the pairs.  m_k, m_signed_k, q_diag, q_twin, q_cross
(linear in M, Q, hence unbiased at finite d) and risk are what ``dmft validate`` compares at
every step: a finite-d |M_jk| is biased upwards by O(d^-1/2) where its limit is 0, so the
simulator keeps overlap_k as an order parameter (docs/models/giant_step.md).
"""
from __future__ import annotations

import numpy as np

from dmft.march import march
from dmft.model import Model, Param, ParameterError, Tool
from dmft.result import Result
from dmft.sampling import replica_generator
from dmft.simulation import mean_and_stderr

from . import giant_step_se as se
from . import giant_step_tools as tools
from .giant_step_hermite import ACTIVATIONS, TARGETS, activation_code, make_target

MAX_QUADRATURE_POINTS = 4_000_000
MAX_SAMPLES = 50_000_000


def second_layer(p: int, init: str) -> np.ndarray:
    """a of the module docstring: +-1/sqrt(p), alternating signs (pairs for symmetric init)."""
    return np.where(np.arange(p) % 2 == 0, 1.0, -1.0) / np.sqrt(p)


def initial_overlaps(p: int, r: int, init: str) -> tuple[np.ndarray, np.ndarray]:
    """(M_0, Q_0) of the d -> infinity initialisation."""
    Q = np.eye(p)
    if init == "symmetric":
        for i in range(0, p, 2):
            Q[i, i + 1] = Q[i + 1, i] = 1.0
    return np.zeros((p, r)), Q


def summaries(M: np.ndarray, Q: np.ndarray, a: np.ndarray, init: str) -> dict[str, np.ndarray]:
    """Per-step scalar summaries of M (..., p, r) and Q (..., p, p) (module docstring)."""
    p, r = M.shape[-2:]
    sign = np.sign(a)
    out = {f"overlap_{k + 1}": np.mean(np.abs(M[..., k]), axis=-1) for k in range(r)}
    out.update({f"m_{k + 1}": np.mean(M[..., k], axis=-1) for k in range(r)})
    out.update({f"m_signed_{k + 1}": np.mean(sign * M[..., k], axis=-1) for k in range(r)})
    out["q_diag"] = np.mean(np.diagonal(Q, axis1=-2, axis2=-1), axis=-1)
    twin = np.zeros((p, p), dtype=bool)
    if init == "symmetric":
        twin[np.arange(0, p, 2), np.arange(1, p, 2)] = twin[np.arange(1, p, 2), np.arange(0, p, 2)] = True
        out["q_twin"] = np.mean(Q[..., np.arange(0, p, 2), np.arange(1, p, 2)], axis=-1)
    cross = ~twin & ~np.eye(p, dtype=bool)
    if cross.any():
        out["q_cross"] = np.mean((np.outer(sign, sign) * Q)[..., cross], axis=-1)
    return out


class GiantStep(Model):
    name = "giant-step"
    summary = "few giant GD steps of a two-layer network on a multi-index target: (M, Q) state evolution"
    reference = "giant_step.md; Dandi, Krzakala, Loureiro, Pesce, Stephan arXiv:2305.18270"
    parameters = (
        Param("p", int, 8, "width (number of hidden units); even for init=symmetric", low=1),
        Param("alpha", float, 2.0, "batch size / d (a fresh batch at every step)", low=0, low_open=True),
        Param("steps", int, 4, "number of giant steps", low=1, high=1000),
        Param("eta", float, 1.0, "eta-tilde: the learning rate is eta * p", low=0, low_open=True),
        Param("activation", str, "relu", "student activation sigma", choices=ACTIVATIONS),
        Param("target", str, "z1+z1z2", "multi-index target g*(z) (hermite: from g_star)", choices=TARGETS),
        Param("g_star", str, "", "target=hermite only: Hermite expansion 'coef:n1,..,nr;...' "
              "(e.g. '1:1,0;1:1,1' = z1 + z1 z2)"),
        Param("init", str, "symmetric", "symmetric pairs (f = 0 at start) or independent rows",
              choices=("symmetric", "random")),
        Param("samples", int, 1_000_000, "Monte Carlo points per expectation (total over batches)",
              low=2, high=MAX_SAMPLES),
        Param("batches", int, 8, "independent Monte Carlo replicas (error bars)", low=2),
        Param("quadrature", int, 0, "Gauss-Hermite nodes per dimension instead of Monte Carlo "
              "(0: Monte Carlo); needs nodes^(r+p) <= 4e6", low=0),
        Param("seed", int, 0, "seed of the Monte Carlo points", low=0),
    )
    observables = {
        "overlap_k": "mean over neurons of |M_jk| for target direction k = 1..r (overlap_1, ...)",
        "m_k": "mean over neurons of M_jk (m_1, ...)",
        "m_signed_k": "mean over neurons of sign(a_j) M_jk (m_signed_1, ...)",
        "risk": "population MSE E[(g*(z) - f(x))^2] before the step",
        "q_diag": "mean squared norm of the rows, mean_j Q_jj",
        "q_twin": "mean overlap of the twin rows of a symmetric pair (init=symmetric)",
        "q_cross": "mean of sign(a_j a_k) Q_jk over rows j != k that are not twins",
    }
    order_parameters = {"M": "W W*^T per step, shape (steps+1, p, r)",
                        "Q": "W W^T per step, shape (steps+1, p, p)"}
    tools = {name: Tool(name, summary, params, run) for name, (summary, params, run) in tools.TOOLS.items()}

    def check(self, p):
        if p["init"] == "symmetric" and p["p"] % 2:
            raise ParameterError(f"parameter 'p' must be even for init=symmetric (got {p['p']})")
        if p["init"] == "random" and p["p"] < 2:
            raise ParameterError("parameter 'p' must be >= 2 (got 1)")
        target = make_target(p["target"], p["g_star"])
        if p["target"] != "hermite" and p["g_star"]:
            raise ParameterError(f"parameter 'g_star' is only read with target=hermite (target={p['target']})")
        dim = target.r + p["p"]
        if p["quadrature"] and p["quadrature"] ** dim > MAX_QUADRATURE_POINTS:
            raise ParameterError(f"parameter 'quadrature' must satisfy quadrature^(r+p) <= "
                                 f"{MAX_QUADRATURE_POINTS:g} (r+p = {dim}; got {p['quadrature']})")
        if not p["quadrature"] and p["samples"] < 2 * p["batches"]:
            raise ParameterError(f"parameter 'samples' must be >= 2 * batches = {2 * p['batches']} "
                                 f"(got {p['samples']})")

    def solve(self, p, run):
        target = make_target(p["target"], p["g_star"])
        r, width, T = target.r, p["p"], p["steps"]
        dim = r + width
        a = second_layer(width, p["init"])
        if p["quadrature"]:
            G, w = se.gauss_hermite_points(p["quadrature"], dim)
            points = [(G, w)]
        else:
            per = p["samples"] // p["batches"]
            points = [(replica_generator(p["seed"], k).standard_normal((per, dim)), np.full(per, 1.0 / per))
                      for k in range(p["batches"])]
        R = len(points)
        M0, Q0 = initial_overlaps(width, r, p["init"])
        state = {"M": np.zeros((T + 1, R, width, r)), "Q": np.zeros((T + 1, R, width, width)),
                 "risk": np.zeros((T + 1, R))}
        state["M"][0], state["Q"][0] = M0, Q0
        code = activation_code(p["activation"])
        clipped = [0.0]

        def advance(i):
            for k, (G, w) in enumerate(points):
                M, Q, risk, c = se.step(state["M"][i, k], state["Q"][i, k], G, w, a, p["eta"], p["alpha"],
                                        code, target)
                state["risk"][i, k] = risk
                clipped[0] = max(clipped[0], c)
                if i < T:
                    state["M"][i + 1, k], state["Q"][i + 1, k] = M, Q

        with np.errstate(over="ignore", invalid="ignore"):
            out = march(advance, state, T + 1, run, np.arange(T + 1.0))
        n = out.rows
        per_replica = {"risk": state["risk"][:n].T,
                       **{k: np.moveaxis(v, 0, 1) for k, v in
                          summaries(state["M"][:n], state["Q"][:n], a, p["init"]).items()}}
        if R > 1:
            observables = mean_and_stderr(per_replica)
            order = mean_and_stderr({"M": state["M"][:n].swapaxes(0, 1), "Q": state["Q"][:n].swapaxes(0, 1)})
        else:
            observables = {k: v[0] for k, v in per_replica.items()}
            order = {"M": state["M"][:n, 0], "Q": state["Q"][:n, 0]}
        method = f"state-evolution ({'gauss-hermite' if p['quadrature'] else 'monte-carlo'})"
        solver = {"method": method, "iterations": n - 1, "residual": 0.0, "converged": not out.diverged,
                  "status": out.message or "ok", "points_per_replica": len(points[0][1]),
                  "clipped_fraction": clipped[0], "r": r, **({"replicas": R} if R > 1 else {})}
        return Result(self.name, p, np.arange(n, dtype=float), observables=observables, order=order,
                      solver=solver, seed=None if p["quadrature"] else p["seed"])
