"""Model ``linear-network``: exact gradient flow of a width-d linear network with scalar input and
layer-wise learning rates (linear_network.md; Xu & Ziyin arXiv:2401.07085).  The closed form is in
``solvers.linear_network_exact``, the phase diagram tool in ``solvers.linear_network_phases``.
"""
from __future__ import annotations

from dmft.grid import UniformGrid
from dmft.model import Model, Param, ParameterError, Tool
from dmft.result import Result

from . import linear_network_phases as phases
from .linear_network_exact import initial_weights, observables, phase_summary, riccati_z, trajectory

__all__ = ["LinearNetwork", "initial_weights", "observables", "phase_summary", "riccati_z", "trajectory"]

MAX_STORED_WIDTH = 4096   # /order/u and /order/w are stored up to this width
MAX_OUTPUT_POINTS = 10**6


class LinearNetwork(Model):
    name = "linear-network"
    summary = "exact GF of a width-d linear network with scalar input, layer-wise learning rates (Xu-Ziyin)"
    reference = "linear_network.md; Xu, Ziyin arXiv:2401.07085"
    parameters = (
        Param("width", int, 100, "number of hidden units d", low=1),
        Param("kappa", float, 1.0, "output scale", low=0, low_open=True),
        Param("c", float, 1.0, "target slope E[xy]/E[x^2]"),
        Param("eta_u", float, 1.0, "learning rate of the output layer u", low=0, low_open=True),
        Param("eta_w", float, 1.0, "learning rate of the input layer w", low=0, low_open=True),
        Param("sigma_u", float, 0.1, "std of the Gaussian initialisation of u", low=0),
        Param("sigma_w", float, 0.1, "std of the Gaussian initialisation of w", low=0),
        Param("seed", int, 0, "seed of the initialisation", low=0),
        Param("t_max", float, 10.0, "final time", low=0, low_open=True),
        Param("dt", float, 0.01, "spacing of the output grid (the solution is exact)", low=0, low_open=True),
        Param("u0", tuple, None, "explicit u(0) (overrides sigma_u and seed; needs w0)"),
        Param("w0", tuple, None, "explicit w(0) (overrides sigma_w and seed; needs u0)"),
    )
    observables = {
        "F": "end-to-end slope kappa u.w", "K": "tangent kernel kappa^2 (eta_u |w|^2 + eta_w |u|^2)",
        "zeta": "cosine of the angle between u and w (NaN if one is zero)",
        "u_norm": "|u|", "w_norm": "|w|", "loss": "(F - c)^2 / 2",
        "Delta": "conserved: layer imbalance eta_w |u|^2 - eta_u |w|^2",
        "Omega": "conserved: squared area |u|^2 |w|^2 - (u.w)^2",
        "kernel_invariant": "conserved: K^2 - 4 eta_u eta_w kappa^2 F^2",
    }
    order_parameters = {"u": "output weights u(t) (N x width)", "w": "input weights w(t) (N x width)"}
    tools = {"phase-diagram": Tool("phase-diagram", "kernel / feature-learning phases and the three "
                                   "mechanisms over (kappa, sigma, eta_w/eta_u), exact at finite width",
                                   phases.PARAMETERS, phases.phase_diagram)}

    def check(self, p):
        if (p["u0"] is None) != (p["w0"] is None):
            raise ParameterError("parameters 'u0' and 'w0' must be given together")
        if p["u0"] is not None and not len(p["u0"]) == len(p["w0"]) == p["width"]:
            raise ParameterError(f"parameters 'u0' and 'w0' must have length width = {p['width']} "
                                 f"(got {len(p['u0'])} and {len(p['w0'])})")
        UniformGrid.check(p["t_max"], p["dt"], MAX_OUTPUT_POINTS)

    def solve(self, p, run):
        t = UniformGrid.up_to(p["t_max"], p["dt"]).t
        u0, w0 = initial_weights(p)
        args = (p["kappa"], p["c"], p["eta_u"], p["eta_w"])
        u, w = trajectory(u0, w0, *args, t)
        order = {"u": u, "w": w} if p["width"] <= MAX_STORED_WIDTH else {}
        solver = {"method": "closed-form", "iterations": 0, "residual": 0.0, "converged": True,
                  "status": "ok", **phase_summary(u0, w0, *args)}
        return Result(self.name, p, t, observables=observables(u, w, *args), order=order,
                      solver=solver, seed=None if p["u0"] is not None else p["seed"])
