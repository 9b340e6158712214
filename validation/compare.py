"""Comparison of a theory result with simulations at several sizes.

On the simulation's time grid (the theory is interpolated linearly onto it), for every
observable both results have:

  z(t) = (theory - simulation) / sqrt(se_sim^2 + se_theory^2 + floor^2),

se_theory being the theory's own standard error (Monte Carlo solvers) or 0 (times where both
are NaN, an observable undefined there, are skipped; NaN on one side only fails), and floor =
1e-9 max(|theory|, |simulation|) + 1e-15 so that exactly known values (for example at t = 0)
compare as equal.

The standard errors are estimated from few realisations (seeds - 1 degrees of freedom, and
replicas - 1 for a Monte Carlo theory), so z has Student-t tails.  Each |z(t)| is therefore
judged against the Student-t quantile with the same tail probability as the normal
``threshold`` (default 4: probability 6e-5 per time), with the Welch-Satterthwaite degrees of
freedom of the combined error; it tends to ``threshold`` as the seeds grow (16 seeds: 5.48).
An observable passes at a size if every |z(t)| is within that limit.  The finite-size trend is
the slope of log max_t |theory - simulation| against log d (-1/2 for pure sampling noise, -1 for
an O(1/d) bias, >= 0 if the discrepancy does not shrink).  The relative resolution,
median_t limit x stderr/|theory|, says how large a uniform relative error of the theory would
have to be to fail: the power of the check.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from dmft.result import Result


@dataclass
class Comparison:
    """One observable at one size."""

    observable: str
    d: int
    t: np.ndarray
    theory: np.ndarray
    simulation: np.ndarray
    stderr: np.ndarray          # combined standard error
    z: np.ndarray
    limit: np.ndarray           # the |z| allowed at each time (Student-t calibrated threshold)

    @property
    def passed(self) -> bool:
        return bool(np.all(np.abs(self.z) <= self.limit))

    @property
    def max_abs_z(self) -> float:
        return float(np.max(np.abs(self.z), initial=0.0))

    @property
    def max_abs_diff(self) -> float:
        return float(np.max(np.abs(self.theory - self.simulation), initial=0.0))

    @property
    def relative_resolution(self) -> float | None:
        """median_t limit x stderr/|theory|: roughly the smallest uniform relative error of the
        theory that this comparison detects (None if the theory is zero throughout)."""
        keep = np.abs(self.theory) > 1e-12
        if not keep.any():
            return None
        return float(np.median(self.limit[keep] * self.stderr[keep] / np.abs(self.theory[keep])))


@dataclass
class Validation:
    theory: Result
    simulations: list[Result]
    threshold: float
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def observables(self) -> list[str]:
        return list(dict.fromkeys(c.observable for c in self.comparisons))

    @property
    def sizes(self) -> list[int]:
        return [int(s.simulation["d"]) for s in self.simulations]

    def passed_observable(self, name: str) -> bool:
        return all(c.passed for c in self.comparisons if c.observable == name)

    @property
    def passed(self) -> bool:
        return bool(self.comparisons) and all(self.passed_observable(o) for o in self.observables)

    def trend(self, name: str) -> float | None:
        """Slope of log max|theory - simulation| against log d (None with one size)."""
        rows = [(c.d, c.max_abs_diff) for c in self.comparisons if c.observable == name]
        if len(rows) < 2 or min(r[1] for r in rows) <= 0:
            return None
        d, diff = np.log(np.array(rows, dtype=float)).T
        return float(np.polyfit(d, diff, 1)[0])

    @property
    def summary(self) -> dict:
        """The content of summary.json."""
        obs = {}
        for name in self.observables:
            rows = [c for c in self.comparisons if c.observable == name]
            resolutions = [c.relative_resolution for c in rows if c.relative_resolution is not None]
            obs[name] = {
                "max_abs_z": max(c.max_abs_z for c in rows),
                "passed": self.passed_observable(name),
                "finite_size_slope": self.trend(name),
                "relative_resolution": min(resolutions) if resolutions else None,
                "by_size": {str(c.d): {"max_abs_z": c.max_abs_z, "max_abs_diff": c.max_abs_diff,
                                       "relative_resolution": c.relative_resolution,
                                       "limit": float(np.median(c.limit)),
                                       "passed": c.passed} for c in rows},
            }
        return {"model": self.theory.model, "params": self.theory.params, "sizes": self.sizes,
                "seeds": int(self.simulations[0].simulation["seeds"]) if self.simulations else 0,
                "seed": self.simulations[0].seed if self.simulations else None,
                "threshold": self.threshold, "passed": self.passed,
                "theory_status": self.theory.solver.get("status", ""), "observables": obs}


def _zero_if_absent(result: Result, name: str, n: int) -> np.ndarray:
    se = result.stderr(name)
    return np.zeros(n) if se is None else se


def t_limit(threshold: float, se_sim, dof_sim: float, se_theory, dof_theory: float) -> np.ndarray:
    """Student-t quantile with the normal tail probability of ``threshold``, at the
    Welch-Satterthwaite degrees of freedom of sqrt(se_sim^2 + se_theory^2)."""
    se_sim, se_theory = np.asarray(se_sim, float), np.asarray(se_theory, float)
    var = se_sim**2 + se_theory**2
    den = se_sim**4 / dof_sim + se_theory**4 / dof_theory
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = np.where(den > 0, var**2 / den, np.inf)
    return stats.t.isf(stats.norm.sf(threshold), dof)


def compare(theory: Result, simulations: list[Result], threshold: float = 4.0) -> Validation:
    """Compare ``theory`` with each simulation on the simulation's times within the theory's range."""
    out = Validation(theory, simulations, threshold)
    dof_theory = theory.solver.get("replicas", np.inf) - 1     # Monte Carlo theories only
    for sim in simulations:
        keep = sim.t <= theory.t[-1] + 1e-12
        t = sim.t[keep]
        for name in theory.observable_names():
            if name not in sim.observables:
                continue
            th = np.interp(t, theory.t, theory.observables[name])
            th_se = np.interp(t, theory.t, _zero_if_absent(theory, name, len(theory.t)))
            sv = sim.observables[name][keep]
            se_sim = _zero_if_absent(sim, name, len(sim.t))[keep]
            defined = ~(np.isnan(th) & np.isnan(sv))   # e.g. C(t, t_w) is NaN for t < t_w in both
            t_obs, th, th_se, sv, se_sim = t[defined], th[defined], th_se[defined], sv[defined], se_sim[defined]
            floor = 1e-9 * np.maximum(np.abs(th), np.abs(sv)) + 1e-15
            se = np.sqrt(se_sim**2 + th_se**2 + floor**2)
            limit = t_limit(threshold, se_sim, sim.simulation["seeds"] - 1, th_se, dof_theory)
            out.comparisons.append(Comparison(name, int(sim.simulation["d"]), t_obs, th, sv, se,
                                              (th - sv) / se, limit))
    return out
