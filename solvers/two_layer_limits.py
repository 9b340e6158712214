"""Large-width reduced descriptions of model ``two-layer`` (two_layer.md §4), selected by the
model parameter ``method``; every one returns the DMFT's observables in the ORIGINAL time t on
the grid t_i = i dt, so it can be compared with the finite-m SymmDMFT at the same m.

* ``mf-ode`` (§4.5, Eq. 2.10; mean-field init a(0) = a0, v(0) = 0), at fixed t:
      dv/dt = alpha a (1 - v^2) (phihat'(v) - a h'(v^2) v),   da/dt = alpha (phihat(v) - a h(v^2)),
      e_tr = e_ts = [tau^2 + ||phi||^2 - 2 a phihat(v) + a^2 h(v^2)] / 2.
  Each neuron stays in span(w_i(0), u*): w_i = v u* + sqrt(1 - v^2) w_i(0), so [D]
  C_d(t,0) = sqrt(1 - v^2), C_o(t,t) = v^2, nu = alpha a v (phihat'(v) - a v h'(v^2)) (C.43).
* ``lz1`` (§4.2-4.3; lazy init a = gamma0 sqrt(m)), closed forms in t_hat = m t with
  lambda = alpha gamma0^2 h'(0), x = exp(-lambda t_hat), v_inf = phihat'(0) / (gamma0 h'(0)):
      sqrt(m) v = v_inf (1 - x),   m C_o(t,t) = x^2 - 1 + v_inf^2 (1 - x)^2,
      m (C_d(t,0) - 1) = -(1 + v_inf^2) (1 - x)^2 / 2,
      e_tr = e_ts = [tau'^2 + gamma0^2 htilde(1) + (gamma0^2 h'(0) + L_phi) x^2] / 2,
      nu = -alpha gamma0^2 htilde'(1) - lambda x^2 + lambda v_inf^2 x (1 - x)   [D; pure noise: §4.2],
  with L_phi = phihat'(0)^2 / h'(0) and tau'^2 = tau^2 + ||phi||^2 - L_phi.
* ``lz2`` (§4.2-4.3; lazy init, t = O(1)): the m = 1 SymmDMFT with h -> htilde, alpha_bar ->
  alpha, a frozen at gamma0, pure noise at tau' (the tau' reduction F.72-F.74 for single index);
  test error = the frozen plateau [tau'^2 + gamma0^2 htilde(1)] / 2, sqrt(m) v = v_inf.
* ``mf2`` (§4.4; mean-field init, pure noise, t_hat = t / sqrt(m)): the T = 0 Cugliandolo-Kurchan
  p-spin (model ``pspin``, f = htilde, i.e. c_k = 2 htilde_k) in the time t_tilde, with
      dt_tilde/dt_hat = tau sqrt(alpha) a,   da/dt_hat = -tau sqrt(alpha) E(t_tilde),
  i.e. a^2 = a0^2 - 2 int_0^t_tilde E and t_hat = int dt_tilde / (tau sqrt(alpha) a) (trapezoid
  on the p-spin grid, second order like the p-spin solve); C_d(t,0) = C(t_tilde, 0),
  nu = tau sqrt(alpha) a mu(t_tilde) / sqrt(m), e_tr = e_ts = tau^2/2 (G.30);
  A_inf = -tau sqrt(alpha) E(final) in the solver record.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.integrate import cumulative_trapezoid, solve_ivp

from dmft import api
from dmft.grid import UniformGrid
from dmft.model import ParameterError, resolve
from dmft.result import Result

from . import two_layer
from .pspin import PSpin

METHODS = ("mf-ode", "lz1", "lz2", "mf2")
INIT = {"mf-ode": "mf", "lz1": "lazy", "lz2": "lazy", "mf2": "mf"}
ODE_TOL = 1e-11
MF2_EXTENSIONS = 6


def _poly(c, q, derivative=0):
    """sum_j c_j q^j (j >= 1, c = (c_1, c_2, ...)) or its first/second derivative."""
    c = np.asarray(c, dtype=float)
    j = np.arange(1, len(c) + 1)
    if derivative == 0:
        return np.sum(c * np.power.outer(q, j), axis=-1)
    if derivative == 1:
        return np.sum(c * j * np.power.outer(q, j - 1), axis=-1)
    return np.sum(c * j * (j - 1) * np.power.outer(q, np.maximum(j - 2, 0)), axis=-1)


def h_tilde(h) -> tuple[float, ...]:
    """Coefficients of htilde(q) = h(q) - h'(0) q (F.24): h with h_1 set to 0."""
    return (0.0,) + tuple(float(c) for c in h[1:])


def tau_prime(p) -> float:
    """tau' = sqrt(tau^2 + ||phi||^2 - phihat'(0)^2 / h'(0)) (F.74); = tau for pure noise."""
    phihat, phi2 = two_layer.link(p)
    linear = phihat[0] ** 2 / p["h"][0] if phihat[0] != 0 else 0.0
    return math.sqrt(max(p["tau"] ** 2 + phi2 - linear, 0.0))


def threshold_energy(c_p: float, degree: int) -> float:
    """Threshold energy -2 c_p sqrt((p-1)/p) of the T = 0 quench of htilde(q) = c_p^2 q^p (G.26-G.28)."""
    return -2.0 * c_p * math.sqrt((degree - 1) / degree)


def _v_inf(p) -> float:
    """sqrt(m) v in the lazy regimes: phihat'(0) / (gamma0 h'(0)) (F.57); 0 for pure noise."""
    return two_layer.link(p)[0][0] / (p["gamma0"] * p["h"][0])


def lz1_error(p, t) -> np.ndarray:
    """lz1 train = test error at original times t (F.13-F.14, F.59), t_hat = m t."""
    h = p["h"]
    lam = two_layer.alphas(p)[0] * p["gamma0"] ** 2 * h[0]
    linear = (two_layer.link(p)[0][0] ** 2) / h[0]
    x2 = np.exp(-2.0 * lam * p["m"] * np.asarray(t, dtype=float))
    g2 = p["gamma0"] ** 2
    return 0.5 * (tau_prime(p) ** 2 + g2 * (_poly(h, 1.0) - h[0]) + (g2 * h[0] + linear) * x2)


def mf1_mCo(p, t) -> np.ndarray:
    """mf1 (pure noise, mean-field init) m C_o(t,t) = e^{-2 rho0 t} - 1 + tau^2/rho0 (1 - e^{-rho0 t})^2,
    rho0 = alpha a0^2 h'(0) (G.6)."""
    rho0 = two_layer.alphas(p)[0] * p["a0"] ** 2 * p["h"][0]
    x = np.exp(-rho0 * np.asarray(t, dtype=float))
    return x ** 2 - 1.0 + p["tau"] ** 2 / rho0 * (1.0 - x) ** 2


def check(p) -> None:
    """Conditions of the reduced descriptions (ParameterError naming the parameter), before any work."""
    method = p["method"]
    if method not in METHODS:
        raise ParameterError(f"parameter 'method' must be one of dmft|{'|'.join(METHODS)} (got {method!r})")
    for name in ("a_init", "c_init"):
        if p[name] is not None:
            raise ParameterError(f"parameter {name!r} needs method=dmft (the reduced descriptions assume the "
                                 "symmetric initialisation)")
    if p["init"] != INIT[method]:
        raise ParameterError(f"parameter 'init' must be {INIT[method]} for method={method} (got {p['init']})")
    h = np.asarray(p["h"], dtype=float)
    if np.any(h < 0) or not np.any(h > 0):
        raise ParameterError(f"parameter 'h' must have coefficients >= 0, not all zero (got {p['h']})")
    if method in ("lz1", "lz2") and not h[0] > 0:
        raise ParameterError(f"parameter 'h' must have h_1 = h'(0) > 0 for method={method} (got {p['h']})")
    if method in ("lz2", "mf2") and not np.any(h[1:] > 0):
        raise ParameterError(f"parameter 'h' must have a nonlinear part (some h_j > 0, j >= 2) for "
                             f"method={method}: htilde = 0 (got {p['h']})")
    if method == "mf2":
        if p["target"] != "noise":
            raise ParameterError("parameter 'target' must be noise for method=mf2 (pure-noise regime, §4.4)")
        if not p["a0"] > 0:
            raise ParameterError(f"parameter 'a0' must be > 0 for method=mf2 (got {p['a0']:g})")
        if not p["tau"] > 0:
            raise ParameterError(f"parameter 'tau' must be > 0 for method=mf2 (got {p['tau']:g})")
        _pspin_params(p, _mf2_horizon(p))
    if method == "lz2":
        two_layer.TwoLayer().check(_lz2_params(p))


def solve(p, run) -> Result:
    """The reduced description p["method"] on the grid of (t_max, dt), in original time units."""
    check(p)
    t = UniformGrid.up_to(p["t_max"], p["dt"]).t
    return {"mf-ode": _mf_ode, "lz1": _lz1, "lz2": _lz2, "mf2": _mf2}[p["method"]](p, t, run)


def _lazy_constants(p, n) -> dict:
    """a, gamma, w2_l1 of a frozen lazy second layer a = gamma0 sqrt(m)."""
    a = p["gamma0"] * math.sqrt(p["m"])
    return {"a": np.full(n, a), "gamma": np.full(n, abs(p["gamma0"])), "w2_l1": np.full(n, abs(a))}


def _wbar2(m, co_tt):
    """(1/m^2) sum_ij C_ij(t,t) = 1/m + (m-1)/m C_o(t,t)."""
    return 1.0 / m + (m - 1) / m * co_tt


def _mf_ode(p, t, run) -> Result:
    alpha = two_layer.alphas(p)[0]
    h = p["h"]
    phihat, phi2 = two_layer.link(p)

    def rhs(_, y):
        v, a = y
        q = v * v
        dv = alpha * a * (1 - q) * (_poly(phihat, v, 1) - a * _poly(h, q, 1) * v)
        return [dv, alpha * (_poly(phihat, v) - a * _poly(h, q))]

    sol = solve_ivp(rhs, (0.0, t[-1]), [0.0, p["a0"]], method="DOP853", t_eval=t, rtol=ODE_TOL, atol=ODE_TOL)
    if not sol.success:
        raise RuntimeError(f"mean-field ODE failed: {sol.message}")
    v, a = sol.y
    q = v * v
    error = 0.5 * (p["tau"] ** 2 + phi2 - 2 * a * _poly(phihat, v) + a * a * _poly(h, q))
    cd0 = np.sqrt(np.clip(1 - q, 0.0, None))
    m = p["m"]
    obs = {"train_error": error, "test_error": error.copy(), "a": a, "gamma": np.abs(a) / math.sqrt(m),
           "w2_l1": np.abs(a), "v": v, "nu": alpha * a * v * (_poly(phihat, v, 1) - a * v * _poly(h, q, 1)),
           "cd0": cd0, "displacement": 2 - 2 * cd0, "wbar2": _wbar2(m, q)}
    solver = {"method": "mf-ode", "scheme": "DOP853", "rtol": ODE_TOL, "iterations": int(sol.nfev),
              "residual": 0.0, "converged": True, "status": "ok", "alpha": alpha}
    return Result(two_layer.TwoLayer.name, p, t, observables=obs, solver=solver)


def _lz1(p, t, run) -> Result:
    alpha = two_layer.alphas(p)[0]
    m, g0, h = p["m"], p["gamma0"], p["h"]
    lam = alpha * g0 ** 2 * h[0]
    x = np.exp(-lam * m * t)
    vinf = _v_inf(p)
    cd0 = 1.0 - (1 + vinf ** 2) * (1 - x) ** 2 / (2 * m)
    error = lz1_error(p, t)
    nu = -alpha * g0 ** 2 * (_poly(h, 1.0, 1) - h[0]) - lam * x ** 2 + lam * vinf ** 2 * x * (1 - x)
    obs = {"train_error": error, "test_error": error.copy(), **_lazy_constants(p, len(t)),
           "v": vinf * (1 - x) / math.sqrt(m), "nu": nu, "cd0": cd0, "displacement": 2 - 2 * cd0,
           "wbar2": _wbar2(m, (x ** 2 - 1 + vinf ** 2 * (1 - x) ** 2) / m)}
    solver = {"method": "lz1", "scheme": "closed form", "iterations": 0, "residual": 0.0, "converged": True,
              "status": "ok", "alpha": alpha, "lambda": lam, "tau_prime": tau_prime(p)}
    return Result(two_layer.TwoLayer.name, p, t, observables=obs, solver=solver)


def _lz2_params(p) -> dict:
    """Resolved parameters of the m = 1 SymmDMFT that is lz2 (method keeps its default, dmft)."""
    given = {"m": 1, "alpha": two_layer.alphas(p)[0], "tau": tau_prime(p), "h": h_tilde(p["h"]),
             "target": "noise", "init": "lazy", "gamma0": p["gamma0"], "train_a": False,
             "t_max": p["t_max"], "dt": p["dt"], "scheme": p["scheme"], "eps": p["eps"],
             "richardson": p["richardson"]}
    return resolve(two_layer.TwoLayer.parameters, given, "lz2 (m = 1 two-layer DMFT)")


def lz2_dmft(p, run) -> Result:
    """The m = 1 two-layer SymmDMFT that is lz2 (train error, C, nu of the reduced problem)."""
    q = _lz2_params(p)
    model = two_layer.TwoLayer()
    model.check(q)
    return model.solve(q, run)


def _lz2(p, t, run) -> Result:
    r = lz2_dmft(p, run)
    n, m = len(r.t), p["m"]
    vinf = _v_inf(p)
    obs = {"train_error": r["train_error"], "test_error": r["test_error"], **_lazy_constants(p, n),
           "v": np.full(n, vinf / math.sqrt(m)), "nu": r["nu"], "cd0": r["cd0"],
           "displacement": r["displacement"], "wbar2": np.full(n, _wbar2(m, (vinf ** 2 - 1) / m))}
    keep = ("C_d", "R_d", "C_A", "R_A", "tau")
    solver = {**r.solver, "method": "lz2 (m = 1 SymmDMFT, h -> htilde, a = gamma0 frozen, tau -> tau')",
              "tau_prime": tau_prime(p), "alpha": two_layer.alphas(p)[0]}
    for key in ("symmetric", "alpha_bar", "phi_norm2", "min_gram_eigenvalue"):
        solver.pop(key, None)
    return Result(two_layer.TwoLayer.name, p, r.t, observables=obs, solver=solver,
                  order={k: v for k, v in r.order.items() if k in keep},
                  history={k: v for k, v in r.history.items() if k in keep})


def _pspin_params(p, t_tilde_max) -> dict:
    """Checked parameters of the T = 0 p-spin with f = htilde (c_k = 2 htilde_k), step dt in t_tilde."""
    return api.check_params("pspin", f=tuple(2 * c for c in h_tilde(p["h"])), T=0.0,
                            t_max=max(t_tilde_max, p["dt"]), dt=p["dt"], scheme=p["scheme"], eps=p["eps"],
                            richardson=p["richardson"])


def _mf2_horizon(p) -> float:
    """First guess of the t_tilde reached at t_max: a grows at most like a0 + tau sqrt(alpha) B t_hat
    with B = sqrt(htilde''(1)) >= |threshold energy| for a pure htilde (extended if too short)."""
    speed = p["tau"] * math.sqrt(two_layer.alphas(p)[0])
    bound = math.sqrt(_poly(h_tilde(p["h"]), 1.0, 2))
    t_hat = p["t_max"] / math.sqrt(p["m"])
    return speed * (p["a0"] * t_hat + 0.5 * speed * bound * t_hat ** 2)


def _mf2_time_change(p, tt, energy):
    """a and t_hat on the p-spin grid t_tilde: a^2 = a0^2 - 2 int E, t_hat = int dt_tilde / (tau sqrt(alpha) a)."""
    speed = p["tau"] * math.sqrt(two_layer.alphas(p)[0])
    a = np.sqrt(p["a0"] ** 2 - 2 * cumulative_trapezoid(energy, tt, initial=0.0))
    return a, cumulative_trapezoid(1.0 / (speed * a), tt, initial=0.0)


def _mf2(p, t, run) -> Result:
    alpha = two_layer.alphas(p)[0]
    m, speed = p["m"], p["tau"] * math.sqrt(alpha)
    t_hat = t / math.sqrt(m)
    horizon = _mf2_horizon(p)
    for attempt in range(MF2_EXTENSIONS):
        q = _pspin_params(p, horizon)
        spin = PSpin().solve(q, run.stage(f"pspin{attempt}") if attempt else run)
        a, that = _mf2_time_change(p, spin.t, spin["energy"])
        if that[-1] >= t_hat[-1] or not spin.solver["converged"]:
            break
        horizon *= 2.0
    else:
        raise RuntimeError(f"mf2: the p-spin horizon t_tilde = {horizon:g} is not reached after "
                           f"{MF2_EXTENSIONS} extensions")
    n = int(np.searchsorted(t_hat, that[-1] * (1 + 1e-12), side="right"))
    complete = n == len(t)
    t, t_hat = t[:n], t_hat[:n]
    at = lambda y: np.interp(t_hat, that, y)  # noqa: E731
    a_t, cd0 = at(a), at(spin["C0"])
    error = np.full(n, 0.5 * p["tau"] ** 2)
    obs = {"train_error": error, "test_error": error.copy(), "a": a_t, "gamma": a_t / math.sqrt(m),
           "w2_l1": np.abs(a_t), "v": np.zeros(n), "nu": speed * a_t * at(spin["mu"]) / math.sqrt(m),
           "cd0": cd0, "displacement": 2 - 2 * cd0, "t_tilde": at(spin.t), "pspin_energy": at(spin["energy"])}
    solver = {"method": "mf2 (T = 0 p-spin with f = htilde in t_tilde = tau sqrt(alpha) int a dt_hat)",
              "scheme": spin.solver["method"],
              "dt_tilde": q["dt"], "t_tilde_max": float(spin.t[-1]), "iterations": spin.solver["iterations"],
              "residual": 0.0, "converged": spin.solver["converged"] and complete,
              "status": spin.solver["status"], "alpha": alpha,
              "A_inf": float(-speed * spin["energy"][-1]), "final_energy": float(spin["energy"][-1])}
    return Result(two_layer.TwoLayer.name, p, t, observables=obs, solver=solver)
