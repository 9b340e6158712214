"""Model ``pspin``: the spherical mixed p-spin after a quench from infinite temperature, i.e. the
Cugliandolo-Kurchan equations (pspin.md).  With f(q) = sum_k c_k q^k / 2, for t > t':

  dC(t,t')/dt = -mu(t) C(t,t') + int_0^t f''(C(t,s)) R(t,s) C(s,t') ds + int_0^t' f'(C(t,s)) R(t',s) ds
  dR(t,t')/dt = -mu(t) R(t,t') + int_t'^t f''(C(t,s)) R(t,s) R(s,t') ds
  mu(t) = T + int_0^t [f'(C(t,s)) + f''(C(t,s)) C(t,s)] R(t,s) ds,   e(t) = -int_0^t f'(C(t,s)) R(t,s) ds

with C(t,t) = 1 and R(t'+, t') = 1.  Both schemes are ``dmft.history.march_history`` (Heun
predictor-corrector, second order in dt, cell-integral quadrature): ``uniform`` keeps every
time (O(N_t^3) work, O(N_t^2) memory), ``long-time`` keeps a compressed history with relative
spacing ``eps`` (O(N_t L^2) work, L ~ (2/eps) log(t/dt) kept times).  mu is evaluated with
the same quadrature as the C equation on the diagonal, so dC(t,t')/dt -> -T as t' -> t exactly.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from dmft.extrapolate import richardson
from dmft.grid import UniformGrid
from dmft.history import History, history_capacity, linear_cells, march_history
from dmft.model import Model, Param, ParameterError, Tool
from dmft.result import Result
from dmft.twotime import Correlation, Response

from . import pspin_aging
from .pspin_reference import f_prime, f_second

FAST = {"reassoc", "contract"}
MAX_UNIFORM_POINTS = 5000   # 3 x 2 (N, N) float64 arrays: 1.2 GB
DEFAULT_P = 3


def coefficients(params) -> np.ndarray:
    """c_1..c_K of f(q) = sum_k c_k q^k / 2 (pure p: c_p = 1; p = 3 when neither p nor f is given)."""
    if params.get("f") is not None:
        return np.asarray(params["f"], dtype=float)
    p = params.get("p") or DEFAULT_P
    c = np.zeros(p)
    c[p - 1] = 1.0
    return c


@njit(cache=True, inline="always")
def _f1_f2(c, q):
    """f'(q), f''(q) by Horner's rule."""
    f1 = 0.0
    f2 = 0.0
    for k in range(len(c), 0, -1):
        f1 = f1 * q + k * c[k - 1]
        if k >= 2:
            f2 = f2 * q + k * (k - 1) * c[k - 1]
    return 0.5 * f1, 0.5 * f2


@njit(cache=True, fastmath=FAST)
def rates(r, tau, X, H, VT, Y, params, out, out_diag, out_state, scalars):
    """Right-hand sides at t = tau_r for every kept t' = tau_b, b <= r (fields 0 = C, 1 = R);
    scalars = (mu, energy).  See dmft.history for the cell-integral quadrature."""
    T = params[0]
    c = params[1:]
    slow_a = np.empty(r + 1)   # f''(C(t,s)) R(t,s)
    slow_f = np.empty(r + 1)   # f'(C(t,s))
    for s in range(r + 1):
        f1, f2 = _f1_f2(c, X[0, r, s])
        slow_a[s] = f2 * X[1, r, s]
        slow_f[s] = f1
    a_bar, a_slope = linear_cells(slow_a, tau, r)     # slow factors on cell k: mean and slope
    f_bar, f_slope = linear_cells(slow_f, tau, r)
    mem_c = np.empty(r + 1)
    mem_r = np.empty(r + 1)
    for b in range(r + 1):
        below_c = 0.0
        below_r = 0.0
        for k in range(b):
            below_c += a_bar[k] * H[0, 0, b, k] + a_slope[k] * H[1, 0, b, k]
            below_r += f_bar[k] * H[0, 1, b, k] + f_slope[k] * H[1, 1, b, k]
        above_c = 0.0
        above_r = 0.0
        for k in range(b, r):
            above_c += a_bar[k] * VT[0, 0, b, k] + a_slope[k] * VT[1, 0, b, k]
            above_r += a_bar[k] * VT[0, 1, b, k] + a_slope[k] * VT[1, 1, b, k]
        mem_c[b] = below_c + above_c + below_r
        mem_r[b] = above_r
    energy = -below_r            # b = r: -int_0^t f'(C(t,s)) R(t,s) ds
    mu = T + mem_c[r]
    for b in range(r + 1):
        out[0, b] = -mu * X[0, r, b] + mem_c[b]
        out[1, b] = -mu * X[1, r, b] + mem_r[b]
    scalars[0] = mu
    scalars[1] = energy


class PSpin(Model):
    name = "pspin"
    summary = "spherical mixed p-spin quench (Cugliandolo-Kurchan), uniform or compressed-history scheme"
    reference = "pspin.md; Cugliandolo-Kurchan PRL 71, 173 (1993); Kim-Latz EPL 53, 660 (2001)"
    parameters = (
        Param("p", int, None, "pure p-spin degree, f(q) = q^p/2 (default 3 when f is not given)", low=2),
        Param("f", tuple, None, "mixture coefficients c_1,c_2,... of f(q) = sum_k c_k q^k/2 (instead of p)"),
        Param("T", float, 0.0, "temperature", low=0),
        Param("t_max", float, 20.0, "final time", low=0, low_open=True),
        Param("dt", float, 0.05, "time step", low=0, low_open=True),
        Param("scheme", str, "uniform", "uniform grid (every time kept) or compressed history",
              choices=("uniform", "long-time")),
        Param("eps", float, 0.05, "long-time scheme: relative spacing of the kept history times "
              "(smaller is more accurate; cost ~ 1/eps^2)", low=0, low_open=True, high=0.5),
        Param("t_w", tuple, None, "waiting times t_w for the observables C_tw=<t_w> = C(t, t_w)"),
        Param("richardson", bool, False, "also solve at dt/2 and extrapolate in dt (error O(dt^3) "
              "instead of O(dt^2), 3x the cost)"),
    )
    observables = {
        "energy": "energy per spin e(t) = -int_0^t f'(C(t,s)) R(t,s) ds",
        "mu": "Lagrange multiplier mu(t) of the spherical constraint",
        "C0": "C(t, 0), overlap with the initial condition",
        "C_tw=<t_w>": "C(t, t_w) for each requested waiting time (NaN for t < t_w)",
    }
    tools = {"aging": Tool("aging", "C(t_w + tau, t_w) for several waiting times (aging below T_d), "
                           "figure and table", pspin_aging.PARAMETERS, pspin_aging.aging)}
    order_parameters = {
        "C": "C(t,s) = sigma(t).sigma(s)/N (uniform scheme; long-time: /history/C)",
        "R": "R(t,s) = (1/N) sum_i d<sigma_i(t)>/dh_i(s), R = 0 for s >= t (uniform scheme; long-time: /history/R)",
    }

    def check(self, p):
        if p["p"] is not None and p["f"] is not None:
            raise ParameterError("give either parameter 'p' (pure) or 'f' (mixture), not both")
        c = coefficients(p)
        if p["f"] is not None and (np.any(c < 0) or not np.any(c[1:] > 0)):
            raise ParameterError("parameter 'f' must have coefficients >= 0 with some c_k > 0 for k >= 2 "
                                 f"(got {tuple(p['f'])})")
        f1, f2 = float(f_prime(c, 1.0)), float(f_second(c, 1.0))
        rate = p["T"] + 2 * math.sqrt(f2) + f1 + (f1 / p["T"] if p["T"] > 0 else 0.0)
        if p["dt"] * rate > 1.0:
            raise ParameterError(f"parameter 'dt' must be <= {1 / rate:.3g} here (Heun stability: dt "
                                 f"times the relaxation rate ~ T + f'(1)/T + 2 sqrt(f''(1)) must be <= 1)")
        points = (UniformGrid.check(p["t_max"], p["dt"]) - 1) * (2 if p["richardson"] else 1) + 1
        if p["scheme"] == "uniform" and points > MAX_UNIFORM_POINTS:
            raise ParameterError(f"t_max/dt gives {points} time points (twice as many with richardson); "
                                 f"the uniform scheme allows at most "
                                 f"{MAX_UNIFORM_POINTS} (memory): raise 'dt', lower 't_max' or use scheme=long-time")
        for tw in p["t_w"] or ():
            if not 0 <= tw <= p["t_max"]:
                raise ParameterError(f"parameter 't_w' must lie in [0, t_max = {p['t_max']:g}] (got {tw:g})")

    def solve(self, p, run):
        if not p["richardson"]:
            return self._solve(p, p["dt"], run)
        coarse = self._solve(p, p["dt"], run.stage("dt"))
        return richardson(coarse, self._solve(p, p["dt"] / 2, run.stage("dt2")), order=2)

    def _solve(self, p, dt, run):
        c = coefficients(p)
        steps = (UniformGrid.check(p["t_max"], p["dt"]) - 1) * round(p["dt"] / dt)
        waits = tuple(p["t_w"] or ())
        track = (0,) + tuple(int(round(tw / dt)) for tw in waits)
        eps = p["eps"] if p["scheme"] == "long-time" else 0.0
        history = History(2, history_capacity(steps, dt, eps, len(track)), diag=(1.0, 1.0))
        params = np.concatenate([[p["T"]], c])
        outcome = march_history(rates, params, history, steps, dt, 2, run, eps=eps, track=track)
        observables = {"energy": outcome.scalars[:, 1], "mu": outcome.scalars[:, 0],
                       "C0": outcome.tracked[:, 0, 0]}
        for q, tw in enumerate(waits, start=1):
            observables[f"C_tw={tw:g}"] = outcome.tracked[:, 0, q]
        C, R = _symmetric(history.lower(0)), _causal(history.lower(1))
        solver = {"method": f"heun-{p['scheme']}", "dt": dt, "iterations": outcome.steps,
                  "residual": 0.0, "converged": not outcome.diverged,
                  "status": outcome.message or "ok", "history_points": history.L,
                  "max_history_points": outcome.max_points,
                  "causality_violation": Response(data=R).causality_violation(),
                  "symmetry_violation": Correlation(data=C).asymmetry()}
        if p["scheme"] == "uniform":
            return Result(self.name, p, outcome.t, observables=observables, order={"C": C, "R": R},
                          solver=solver)
        return Result(self.name, p, outcome.t, observables=observables, solver=solver,
                      history={"tau": history.tau[: history.L].copy(), "C": C, "R": R})


def _symmetric(lower: np.ndarray) -> np.ndarray:
    return lower + np.tril(lower, -1).T


def _causal(lower: np.ndarray) -> np.ndarray:
    """Ito convention for storage: R(t, t) = 0 (the history holds the limit 1 on the diagonal)."""
    return np.tril(lower, -1)

