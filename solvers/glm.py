"""Model ``glm``: gradient flow / descent on a generalised linear model with Gaussian data,
solved by the sampled (Monte Carlo) fixed-point DMFT of glm.md sections 3-5.

  L(w) = (1/n) sum_mu l(x_mu.w; y_mu) + (ridge/2)|w|^2,  x ~ N(0, I_d),  n = alpha d,
  y = x.w* + sqrt(sigma2) eps (teacher=linear) or y = +-sign(x.w*) flipped with prob. flip
  (teacher=sign);  |w*|^2 = rho;  w(0) = m0 w* + w_perp with |w_perp|^2 = q0.

Fixed point (Gamma, C_g, b) -> weight side in closed form (solvers.weight_side: c, a, R, C)
-> sample side by Monte Carlo (solvers.glm_sample_side).  The fields are sampled from the
current covariance through its clipped symmetric square root (dmft.sampling), with common
random numbers drawn once per replica.  ``batches`` independent replicas of samples/batches
trajectories each solve the fixed point together; every observable and order parameter is
reported as the mean over replicas with its standard error.
"""
from __future__ import annotations

import numpy as np

from dmft.fixedpoint import iterate
from dmft.grid import UniformGrid
from dmft.march import finite_rows
from dmft.model import Model, Param, ParameterError
from dmft.quadrature import left_weights
from dmft.result import Result
from dmft.sampling import gaussian_factor, replica_generator
from dmft.simulation import mean_and_stderr

from . import glm_sample_side as kernels
from .marchenko_pastur import top_of_spectrum
from .weight_side import ORDER_PARAMETERS, advance, weight_row

LOSSES = {"square": kernels.SQUARE, "logistic": kernels.LOGISTIC, "hinge": kernels.HINGE}
MAX_CURVATURE = {"square": 1.0, "logistic": 0.25}    # sup l'', for the Euler stability check
MAX_POINTS = 2000        # samples x T doubles of common random numbers, O(T^3) per trajectory


class GLM(Model):
    name = "glm"
    summary = "GF/GD on a GLM (square, logistic, hinge) with Gaussian data: sampled fixed-point DMFT"
    reference = "glm.md; Mignacco-Krzakala-Urbani-Zdeborova arXiv:2006.06098; Celentano-Cheng-Montanari arXiv:2112.07572"
    parameters = (
        Param("alpha", float, 2.0, "sample ratio n/d", low=0, low_open=True),
        Param("ridge", float, 0.1, "ridge (l2) penalty lambda", low=0),
        Param("rho", float, 1.0, "teacher norm |w*|^2", low=0, low_open=True),
        Param("loss", str, "logistic", "loss function", choices=("square", "logistic", "hinge")),
        Param("teacher", str, "sign", "labels: linear y = x.w* + noise, or sign(x.w*) with flips",
              choices=("linear", "sign")),
        Param("sigma2", float, 0.0, "noise variance of the linear teacher", low=0),
        Param("flip", float, 0.0, "label-flip probability of the sign teacher", low=0, high=0.5),
        Param("m0", float, 0.0, "initial overlap w(0).w*/|w*|^2"),
        Param("q0", float, 0.0, "initial squared norm of the part of w(0) orthogonal to w*", low=0),
        Param("t_max", float, 5.0, "final time", low=0, low_open=True),
        Param("dt", float, 0.2, "time step (GD learning rate for method=gd)", low=0, low_open=True),
        Param("method", str, "gd", "dynamics: gradient flow or gradient descent", choices=("gf", "gd")),
        Param("samples", int, 20000, "Monte Carlo trajectories of the sample-side process (total)", low=2),
        Param("batches", int, 8, "independent replicas the samples are split into (error bars)", low=2),
        Param("damping", float, 0.3, "damping theta of the fixed-point iteration", low=0, high=1, high_open=True),
        Param("tol", float, 1e-6, "fixed-point tolerance: sum of max|change| of Gamma, C_g, b", low=0, low_open=True),
        Param("max_iter", int, 200, "maximum fixed-point sweeps", low=1),
        Param("accel", str, "anderson", "fixed-point acceleration", choices=("none", "anderson")),
        Param("seed", int, 0, "seed of the common random numbers", low=0),
        Param("kink_width", float, 0.025, "hinge only: width of the Gaussian smoothing of the "
              "kink (bias O(width^2))", low=0, low_open=True),
    )
    observables = {
        "train_loss": "training loss (1/n) sum l(x.w; y), without the ridge term",
        "train_error": "training classification error (sign teacher) or MSE (linear teacher)",
        "test_error": "population classification error (sign) or MSE |w-w*|^2 + sigma2 (linear)",
        "m": "overlap w.w*",
        "q": "squared norm |w|^2",
    }
    order_parameters = ORDER_PARAMETERS

    def check(self, p):
        UniformGrid.check(p["t_max"], p["dt"], MAX_POINTS)
        if p["loss"] != "square" and p["teacher"] != "sign":
            raise ParameterError(f"loss={p['loss']} needs labels +-1: use teacher=sign")
        if p["samples"] < 2 * p["batches"]:
            raise ParameterError(f"parameter 'samples' must be >= 2 * batches = {2 * p['batches']} "
                                 f"(got {p['samples']})")
        curvature = MAX_CURVATURE.get(p["loss"])
        if p["method"] == "gf" and curvature is not None:
            limit = 2 / (p["ridge"] + curvature * top_of_spectrum(p["alpha"]))
            if p["dt"] >= limit:
                raise ParameterError(f"parameter 'dt' must be < {limit:.4g} for method=gf with "
                                     f"loss={p['loss']} (the Euler step is unstable above it)")

    def solve(self, p, run):
        problem = _SampledProblem(p, UniformGrid.up_to(p["t_max"], p["dt"]))
        outcome = iterate(problem.sweep, problem.initial_iterate(), run, damping=p["damping"],
                          tol=p["tol"], max_iter=p["max_iter"], accel=p["accel"])
        with np.errstate(over="ignore", invalid="ignore"):    # a diverged run keeps its finite rows
            problem.sweep(outcome.x)                            # observables at the returned iterate
        solver = {"method": "fixed-point (sampled)", "accel": p["accel"],
                  "iterations": outcome.iterations,
                  "residual": outcome.residuals[-1] if outcome.residuals else np.nan,
                  "converged": outcome.converged, "status": outcome.message or "ok",
                  "restarts": outcome.restarts,
                  "residual_history": np.array(outcome.residuals),
                  "clipped_fraction": problem.clipped_fraction,
                  "samples_per_batch": problem.per_batch, "replicas": p["batches"]}
        with np.errstate(over="ignore", invalid="ignore"):
            return problem.result(solver)


class _SampledProblem:
    """Common random numbers, the fixed-point map and the result of the sampled GLM DMFT."""

    def __init__(self, p, grid):
        self.p = p
        self.t = grid.t
        self.w = np.append(left_weights(grid.t), 0.0)        # explicit (left-point) rule
        self.inv_alpha = 1.0 / p["alpha"]
        n_rep, T = p["batches"], grid.n
        self.per_batch = p["samples"] // n_rep
        S = self.per_batch
        self.h_star, self.h0, self.y = (np.empty((n_rep, S)) for _ in range(3))
        self.xi0 = np.empty((n_rep, S, T))
        for r in range(n_rep):                                # drawn once: common random numbers
            rng = replica_generator(p["seed"], r)
            self.h_star[r] = np.sqrt(p["rho"]) * rng.standard_normal(S)
            self.h0[r] = np.sqrt(p["q0"]) * rng.standard_normal(S)
            self.xi0[r] = rng.standard_normal((S, T))
            if p["teacher"] == "linear":
                self.y[r] = self.h_star[r] + np.sqrt(p["sigma2"]) * rng.standard_normal(S)
            else:
                flips = rng.random(S) < p["flip"]
                self.y[r] = np.where(self.h_star[r] >= 0, 1.0, -1.0) * np.where(flips, -1.0, 1.0)
        shape2 = (n_rep, T, T)
        self.c, self.a = np.empty((n_rep, T)), np.empty((n_rep, T))
        self.R, self.C = np.empty(shape2), np.empty(shape2)
        self.V = np.empty((n_rep, S, T))
        self.new = {"Gamma": np.empty(shape2), "C_g": np.empty(shape2), "b": np.empty((n_rep, T))}
        self.train_loss, self.train_error = np.empty((n_rep, T)), np.empty((n_rep, T))
        self.clipped_fraction = 0.0

    def initial_iterate(self):
        return {k: np.zeros_like(v) for k, v in self.new.items()}

    def _weight_side(self, x):
        """c, a, R, C of every replica from (Gamma, C_g, b): solvers.weight_side."""
        p, T = self.p, len(self.t)
        F, B = np.empty(T), np.empty(T)
        for r in range(p["batches"]):
            c, a, R, C = self.c[r], self.a[r], self.R[r], self.C[r]
            c[0], a[0] = p["m0"], 1.0
            R[:] = 0.0
            for i in range(T - 1):
                advance(i, self.w, p["ridge"], c, a, x["b"][r], x["Gamma"][r], R)
            for i in range(T):
                weight_row(i, self.w, self.inv_alpha, p["rho"], p["q0"], c, a, R, x["C_g"][r], C, F, B)

    def _fields(self, x):
        """v = c h* + a h0 + R diag(w) xi with xi ~ N(0, C_g / alpha) from the common normals."""
        for r in range(self.p["batches"]):
            root, clipped = gaussian_factor(self.inv_alpha * x["C_g"][r])
            self.clipped_fraction = max(self.clipped_fraction, clipped)
            z = ((self.xi0[r] @ root) * self.w) @ self.R[r].T
            self.V[r] = self.c[r] * self.h_star[r][:, None] + self.a[r] * self.h0[r][:, None] + z

    def sweep(self, x):
        p = self.p
        self._weight_side(x)
        self._fields(x)
        new = self.new
        kernels.sample_side(LOSSES[p["loss"]], p["teacher"] == "sign", p["kink_width"], self.inv_alpha,
                            p["rho"], self.w, self.R, self.V, self.y, self.h_star,
                            new["Gamma"], new["C_g"], new["b"], self.train_loss, self.train_error)
        return {k: v.copy() for k, v in new.items()}

    def _test_error(self, m, q):
        p = self.p
        if p["teacher"] == "linear":
            return q - 2 * m + p["rho"] + p["sigma2"]
        with np.errstate(divide="ignore", invalid="ignore"):
            cosine = np.where(q > 0, m / np.sqrt(q * p["rho"]), 0.0)
        e0 = np.arccos(np.clip(cosine, -1.0, 1.0)) / np.pi
        return e0 + p["flip"] * (1 - 2 * e0)

    def result(self, solver):
        p = self.p
        m = p["rho"] * self.c
        q = np.einsum("rii->ri", self.C)
        per_replica = {"train_loss": self.train_loss, "train_error": self.train_error,
                       "test_error": self._test_error(m, q), "m": m, "q": q}
        observables = mean_and_stderr(per_replica)
        order = mean_and_stderr({"C": self.C, "R": self.R, "C_g": self.new["C_g"], "Gamma": self.new["Gamma"]})
        k = finite_rows({**observables, **order}, len(self.t))
        observables = {name: v[:k] for name, v in observables.items()}
        order = {name: v[:k, :k] for name, v in order.items()}
        return Result(GLM.name, p, self.t[:k], observables=observables, order=order, solver=solver,
                      seed=p["seed"])
