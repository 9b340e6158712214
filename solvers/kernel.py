"""Model ``kernel``: gradient flow on kernel least squares with a dot-product kernel
K(x, x') = h(<x, x'>/d) on S^{d-1}(sqrt d) (kernel.md; Ghosh, Mei, Yu arXiv:2111.07167).

Equations and solve: ``solvers.kernel_curves`` (exact oracle world, Gaussian-equivalent Laplace
DMFT of the empirical world, three-stage record); spectrum: ``solvers.kernel_spectrum``;
tools ``stages`` (the three-stage figure) and ``two-kernels`` (faster training is not better
generalisation): ``solvers.kernel_tools``.  Simulator: ``validation.kernel``.
"""
from __future__ import annotations

from dmft.model import Model, Tool

from . import kernel_curves as curves
from . import kernel_tools as tools


class KernelModel(Model):
    name = "kernel"
    summary = ("GF on kernel least squares on the sphere: exact oracle world, Gaussian-equivalent "
               "Laplace DMFT of the empirical world to t = 1e7+, three stages (Ghosh-Mei-Yu)")
    reference = "kernel.md; Ghosh, Mei, Yu arXiv:2111.07167"
    parameters = curves.PARAMETERS
    observables = curves.OBSERVABLES
    tools = {name: Tool(name, summary, params, run) for name, (summary, params, run) in tools.TOOLS.items()}

    def check(self, p):
        curves.check(p)

    def solve(self, p, run):
        return curves.solve(p, run, self.name)
