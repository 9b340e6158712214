"""Model ``linear-regression``: gradient flow / descent on least squares with ridge and
Gaussian design (conventions of glm.md).

  L(w) = (1/2n) sum_mu (x_mu.w - y_mu)^2 + (ridge/2) |w|^2,  y = x.w* + sigma eps,  |w*|^2 = rho,
  x ~ N(0, I_d),  n = alpha d,  w(0) isotropic with |w(0)|^2 = q0 (default 0).

Schemes:
  march    causal time marching of the discrete DMFT (glm.md section 6), one forward sweep;
  iterate  the same discrete equations by fixed-point sweeps (an independent route to the
           same numbers);
  mp       Marchenko-Pastur closed forms (glm.md section 7), exact for GF and GD.
The discrete DMFT at step dt is exactly GD with learning rate dt; for ``method=gf`` it is the
explicit Euler scheme of gradient flow, with O(dt) error.
"""
from __future__ import annotations

import numpy as np

from dmft.fixedpoint import iterate
from dmft.grid import UniformGrid
from dmft.march import finite_rows, march
from dmft.model import Model, Param, ParameterError
from dmft.quadrature import left_weights
from dmft.result import Result
from dmft.twotime import Correlation, Response

from . import marchenko_pastur
from .square_loss import sample_row
from .weight_side import ORDER_PARAMETERS, advance, weight_row

MAX_POINTS = 20000  # four (N, N) float64 arrays: 12.8 GB


class LinearRegression(Model):
    name = "linear-regression"
    summary = "GF/GD on ridge least squares with Gaussian design (deterministic DMFT + MP closed form)"
    reference = "glm.md; Advani-Saxe-Sompolinsky arXiv:1710.03667; Celentano-Cheng-Montanari arXiv:2112.07572"
    parameters = (
        Param("alpha", float, 2.0, "sample ratio n/d", low=0, low_open=True),
        Param("sigma2", float, 0.25, "label-noise variance", low=0),
        Param("ridge", float, 0.0, "ridge (l2) penalty lambda", low=0),
        Param("rho", float, 1.0, "teacher norm |w*|^2", low=0, low_open=True),
        Param("q0", float, 0.0, "initial squared norm |w(0)|^2 (isotropic, independent of w*)", low=0),
        Param("t_max", float, 10.0, "final time", low=0, low_open=True),
        Param("dt", float, 0.02, "time step (GD learning rate for method=gd)", low=0, low_open=True),
        Param("method", str, "gf", "dynamics: gradient flow or gradient descent", choices=("gf", "gd")),
        Param("scheme", str, "march", "numerical scheme: causal march, fixed-point sweeps, "
              "Marchenko-Pastur closed form", choices=("march", "iterate", "mp")),
        Param("tol", float, 1e-13, "fixed-point tolerance (scheme=iterate)", low=0, low_open=True),
        Param("max_iter", int, 10000, "maximum fixed-point sweeps (scheme=iterate)", low=1),
    )
    observables = {
        "train_error": "training mean squared error (1/n) sum (x.w - y)^2 (not halved)",
        "test_error": "test mean squared error |w - w*|^2 + sigma2 (includes the noise)",
        "m": "overlap w.w*",
        "q": "squared norm |w|^2",
    }
    order_parameters = ORDER_PARAMETERS

    def check(self, p):
        UniformGrid.check(p["t_max"], p["dt"], None if p["scheme"] == "mp" else MAX_POINTS)
        s_plus = marchenko_pastur.top_of_spectrum(p["alpha"])
        if p["method"] == "gf" and p["dt"] * (p["ridge"] + s_plus) >= 2:
            raise ParameterError(
                f"parameter 'dt' must be < {2 / (p['ridge'] + s_plus):.4g} for method=gf at alpha="
                f"{p['alpha']:g}, ridge={p['ridge']:g} (the Euler step is unstable above "
                f"2/(ridge + s_+)); for gradient descent at that learning rate use method=gd")

    def solve(self, p, run):
        grid = UniformGrid.up_to(p["t_max"], p["dt"])
        if p["scheme"] == "mp":
            return self._closed_form(p, grid)
        problem = _Problem(p, grid)
        if p["scheme"] == "march":
            outcome = march(problem.complete_row, problem.state, grid.n, run, grid.t)
            solver = {"method": "causal-march", "iterations": 1, "residual": 0.0,
                      "converged": not outcome.diverged, "status": outcome.message or "ok"}
            return problem.result(outcome.rows, solver)
        outcome = iterate(problem.sweep, problem.initial_iterate(), run,
                          tol=p["tol"], max_iter=p["max_iter"])
        with np.errstate(over="ignore", invalid="ignore"):
            problem.adopt(outcome.x)
        solver = {"method": "fixed-point", "iterations": outcome.iterations,
                  "residual": outcome.residuals[-1] if outcome.residuals else np.nan,
                  "converged": outcome.converged, "status": outcome.message or "ok",
                  "residual_history": np.array(outcome.residuals)}
        return problem.result(finite_rows(problem.state, grid.n), solver)

    def _closed_form(self, p, grid):
        obs = marchenko_pastur.errors(p["alpha"], p["sigma2"], p["ridge"], p["rho"], p["q0"],
                                      grid.t, p["method"], p["dt"])
        solver = {"method": "marchenko-pastur", "iterations": 0, "residual": 0.0,
                  "converged": True, "status": "ok"}
        return Result(self.name, p, grid.t, observables=obs, solver=solver)


class _Problem:
    """State arrays of the discrete square-loss DMFT and the two ways to fill them."""

    def __init__(self, p, grid):
        self.p = p
        self.t = grid.t
        n = grid.n
        self.w = np.append(left_weights(grid.t), 0.0)  # explicit (left-point) rule
        self.inv_alpha = 1.0 / p["alpha"]
        self.e_hy, self.e_y2 = p["rho"], p["rho"] + p["sigma2"]  # linear teacher
        self.state = {"c": np.zeros(n), "a": np.ones(n), "b": np.zeros(n),
                      "R": np.zeros((n, n)), "C": np.zeros((n, n)),
                      "C_g": np.zeros((n, n)), "Gamma": np.zeros((n, n))}
        self._scratch = (np.zeros(n), np.zeros(n), np.zeros(n))

    # -- causal march: row i of every quantity, then the weight side of row i+1
    def complete_row(self, i):
        s, p = self.state, self.p
        F, B, E = self._scratch
        weight_row(i, self.w, self.inv_alpha, p["rho"], p["q0"], s["c"], s["a"], s["R"], s["C_g"], s["C"], F, B)
        sample_row(i, self.w, self.inv_alpha, p["rho"], self.e_hy, self.e_y2, s["c"], s["C"], s["R"],
                   s["Gamma"], s["C_g"], s["b"], E)
        if i + 1 < len(self.t):
            advance(i, self.w, p["ridge"], s["c"], s["a"], s["b"], s["Gamma"], s["R"])

    # -- fixed point: (Gamma, C_g, b) -> weight side (c, a, R, C) -> sample side
    def initial_iterate(self):
        return {k: np.zeros_like(self.state[k]) for k in ("Gamma", "C_g", "b")}

    def sweep(self, x):
        p, n = self.p, len(self.t)
        F, B, E = self._scratch
        c, a, R, C = np.zeros(n), np.ones(n), np.zeros((n, n)), np.zeros((n, n))
        gamma, c_g, b = np.zeros((n, n)), np.zeros((n, n)), np.zeros(n)
        for i in range(n - 1):
            advance(i, self.w, p["ridge"], c, a, x["b"], x["Gamma"], R)
        for i in range(n):
            weight_row(i, self.w, self.inv_alpha, p["rho"], p["q0"], c, a, R, x["C_g"], C, F, B)
        for i in range(n):
            sample_row(i, self.w, self.inv_alpha, p["rho"], self.e_hy, self.e_y2, c, C, R, gamma, c_g, b, E)
        self.state.update(c=c, a=a, R=R, C=C)
        return {"Gamma": gamma, "C_g": c_g, "b": b}

    def adopt(self, x):
        """Make the state consistent with the converged iterate (weight side from it)."""
        self.sweep(x)
        self.state.update(x)

    def result(self, k, solver):
        """Result from the first k rows (all of them unless the run diverged)."""
        s, p = self.state, self.p
        C, C_g = s["C"][:k, :k], s["C_g"][:k, :k]
        q = np.diag(C).copy()
        m = p["rho"] * s["c"][:k]
        obs = {"train_error": np.diag(C_g).copy(),
               "test_error": q - 2 * m + p["rho"] + p["sigma2"],
               "m": m, "q": q}
        order = {"C": C.copy(), "R": s["R"][:k, :k].copy(), "C_g": C_g.copy(), "Gamma": s["Gamma"][:k, :k].copy()}
        if k:
            solver.update(causality_violation=Response(data=order["R"]).causality_violation(),
                          symmetry_violation=Correlation(data=order["C"]).asymmetry())
        return Result(LinearRegression.name, p, self.t[:k], observables=obs, order=order, solver=solver)
