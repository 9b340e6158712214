"""Reference solutions of the spherical (mixed) p-spin model (docs: /work/shared/theory/pspin.md).

Conventions
-----------
The covariance of the Hamiltonian is E[H(s) H(s')] = N f(s.s'/N) with

    f(q) = sum_{k=1}^{K} c_k q^k / 2,

given by the coefficient array ``c = (c_1, ..., c_K)`` (pure p-spin: c_p = 1, all others 0, so
f(q) = q^p / 2).  Coefficients must be finite and non-negative (f is a covariance) with at least
one of them positive.  Langevin dynamics at temperature T, spherical constraint by mu(t).

What is here
------------
1. The exact p = 2, T = 0 solution (a GOE quench; semicircle spectrum on [-2, 2]).  With

       Gamma(x) = int rho(l) e^{l x} dl = I_1(2x) / x,      rho(l) = sqrt(4 - l^2) / (2 pi),

   the spins evolve as sigma(t) = e^{J t} sigma(0) / sqrt(Gamma(2t)), hence

       C(t,t') = Gamma(t + t') / sqrt(Gamma(2t) Gamma(2t')),
       R(t,t') = Gamma(t - t') sqrt(Gamma(2t') / Gamma(2t))            (t > t'),
       e(t)    = -(1/4) d/dt log Gamma(2t) = -I_0(4t)/I_1(4t) + 1/(2t) = -I_2(4t)/I_1(4t),
       mu(t)   = -2 e(t) = 2 I_2(4t)/I_1(4t).

   The last form of e uses the recurrence I_0(z) - I_2(z) = (2/z) I_1(z); it has no cancellation,
   e(t) = -t + O(t^3) for small t and e -> -1 as t -> infinity.  mu = -2 e follows from the CK
   equation mu = T + int_0^t [f'(C) + f''(C) C] R ds = T + 2 int_0^t C R ds = T - 2 e (f = q^2/2,
   T = 0), and equally from d|sigma|^2/dt = 0: mu = sigma.J.sigma / N = -2 e.
   Everything is evaluated with exponentially scaled Bessel functions (``scipy.special.ive``) in
   the form log Gamma(x) = 2x + L(x), L(x) = log(ive(1, 2x) / x), and the 2x parts cancel
   analytically in C and R, so t up to 1e4 and beyond neither overflows nor loses digits; small
   arguments use the power series.

2. The equilibrium (one-time, mode-coupling) equation valid for T > T_d:

       dC/dtau = -T C(tau) - (1/T) int_0^tau ds f'(C(tau - s)) dC(s)/ds,     C(0) = 1,

   with R(tau) = -(1/T) dC/dtau (FDT), e = -f(1)/T, mu = T + f'(1)/T.  Solved by
   :func:`equilibrium_correlation` (second order, O(N^2), numba).  For p = 2 (f = q^2/2) the
   equation is linear in Laplace space and the exact solution (T > 1) is

       C_eq(tau) = T int rho(l) e^{-(mu - l) tau} / (mu - l) dl = T int_tau^inf e^{-mu u} I_1(2u)/u du,

   with mu = T + 1/T (:func:`p2_equilibrium_correlation`).  Derivation: the Laplace transform gives
   s C^2 + (T s + T^2 - 1) C^ - T = 0, solved by C^(s) = (1 - T g(mu + s)) / s with g the semicircle
   Stieltjes transform (g^2 - z g + 1 = 0), which is the Laplace transform of the formula above
   (g(mu) = 1/T gives C(0) = 1).  Physically: each eigenmode l of J is an Ornstein-Uhlenbeck
   process with rate mu - l and equilibrium variance T / (mu - l).

3. Textbook constants of the pure p-spin: dynamical temperature T_d and plateau q_d (from the
   plateau equation T^2 q = f'(q)(1 - q)), threshold energy and threshold mu at T = 0.
"""
from __future__ import annotations

import math

import numba
import numpy as np
from scipy import special

from dmft.model import ParameterError

__all__ = [
    "p2_zero_temperature_correlation", "p2_zero_temperature_response", "p2_zero_temperature_energy",
    "p2_zero_temperature_mu", "p2_gamma_log", "equilibrium_correlation", "equilibrium_response",
    "equilibrium_energy", "equilibrium_mu", "p2_equilibrium_correlation", "dynamical_temperature",
    "dynamical_plateau", "threshold_energy", "threshold_mu", "f_value", "f_prime", "f_second",
]


# ----------------------------------------------------------------------------------------------
# validation helpers

def _check_coefficients(c) -> np.ndarray:
    """c as a float array: 1-D, non-empty, finite, non-negative, at least one positive."""
    try:
        arr = np.asarray(c, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"parameter 'c' must be a 1-D array of floats (got {c!r})") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ParameterError(f"parameter 'c' must be a non-empty 1-D array of coefficients "
                             f"(c_1, ..., c_K) (got shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"parameter 'c' must contain finite coefficients (got {arr.tolist()})")
    if np.any(arr < 0):
        raise ParameterError(f"parameter 'c' must contain non-negative coefficients "
                             f"(f is a covariance; got {arr.tolist()})")
    if not np.any(arr > 0):
        raise ParameterError(f"parameter 'c' must have at least one positive coefficient "
                             f"(got {arr.tolist()})")
    return arr


def _check_positive(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"parameter {name!r} must be a float (got {value!r})") from None
    if not math.isfinite(v) or v <= 0:
        raise ParameterError(f"parameter {name!r} must be > 0 (got {value!r})")
    return v


def _check_times(name: str, t) -> np.ndarray:
    arr = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ParameterError(f"parameter {name!r} must be finite and >= 0")
    return arr


def _check_p(p) -> float:
    try:
        v = float(p)
    except (TypeError, ValueError):
        raise ParameterError(f"parameter 'p' must be a number >= 2 (got {p!r})") from None
    if not math.isfinite(v) or v < 2:
        raise ParameterError(f"parameter 'p' must be >= 2 (got {p!r})")
    return v


# ----------------------------------------------------------------------------------------------
# f and its derivatives

def f_value(c, q):
    """f(q) = sum_k c_k q^k / 2."""
    c = _check_coefficients(c)
    k = np.arange(1, c.size + 1)
    q = np.asarray(q, dtype=float)
    return np.sum(0.5 * c * np.power.outer(q, k), axis=-1)


def f_prime(c, q):
    """f'(q) = sum_k k c_k q^(k-1) / 2."""
    c = _check_coefficients(c)
    k = np.arange(1, c.size + 1)
    q = np.asarray(q, dtype=float)
    return np.sum(0.5 * k * c * np.power.outer(q, k - 1), axis=-1)


def f_second(c, q):
    """f''(q) = sum_k k (k-1) c_k q^(k-2) / 2 (the k = 1 term is zero)."""
    c = _check_coefficients(c)
    k = np.arange(1, c.size + 1)
    q = np.asarray(q, dtype=float)
    return np.sum(0.5 * k * (k - 1) * c * np.power.outer(q, np.maximum(k - 2, 0)), axis=-1)


# ----------------------------------------------------------------------------------------------
# 1. exact p = 2, T = 0

_SMALL = 1e-4   # below this argument the power series is used (truncation error < 1e-24)


def _gamma_log_reduced(x: np.ndarray) -> np.ndarray:
    """L(x) = log Gamma(x) - 2x with Gamma(x) = I_1(2x)/x, for x >= 0 (array)."""
    x = np.asarray(x, dtype=float)
    small = x < _SMALL
    xs = np.where(small, _SMALL, x)
    big = np.log(special.ive(1, 2.0 * xs) / xs)
    # Gamma(x) = sum_k x^(2k) / (k! (k+1)!) = 1 + x^2/2 + x^4/12 + ..., log = x^2/2 - x^4/24 + ...
    series = 0.5 * x**2 - x**4 / 24.0 - 2.0 * x
    return np.where(small, series, big)


def p2_gamma_log(x):
    """log Gamma(x), Gamma(x) = I_1(2x)/x = int rho(l) e^{l x} dl (semicircle on [-2, 2]); x >= 0."""
    x = _check_times("x", x)
    return 2.0 * x + _gamma_log_reduced(x)


def p2_zero_temperature_correlation(t, s):
    """Exact C(t, s) = Gamma(t + s) / sqrt(Gamma(2t) Gamma(2s)) of the p = 2, T = 0 quench.

    Gamma(x) = I_1(2x)/x.  ``t`` and ``s`` are broadcast against each other (times >= 0).
    Evaluated as exp(L(t+s) - L(2t)/2 - L(2s)/2) with L(x) = log Gamma(x) - 2x (the linear parts
    cancel exactly), so it is accurate and overflow-free for any t, s; C(t, t) = 1 exactly.
    """
    t = _check_times("t", t)
    s = _check_times("s", s)
    t, s = np.broadcast_arrays(t, s)
    out = np.exp(_gamma_log_reduced(t + s) - 0.5 * _gamma_log_reduced(2.0 * t)
                 - 0.5 * _gamma_log_reduced(2.0 * s))
    return out if out.ndim else float(out)


def p2_zero_temperature_response(t, s):
    """Exact R(t, s) = Gamma(t - s) sqrt(Gamma(2s)/Gamma(2t)) of the p = 2, T = 0 quench.

    For t > s; returns 0 for t < s and, at t = s, the limit from t > s, R(s^+, s) = 1 (not the
    Ito diagonal value 0).  Broadcast over t, s >= 0, overflow-free like the correlation.
    """
    t = _check_times("t", t)
    s = _check_times("s", s)
    t, s = np.broadcast_arrays(t, s)
    d = np.maximum(t - s, 0.0)
    out = np.exp(_gamma_log_reduced(d) + 0.5 * _gamma_log_reduced(2.0 * s)
                 - 0.5 * _gamma_log_reduced(2.0 * t))
    out = np.where(t >= s, out, 0.0)
    return out if out.ndim else float(out)


def _i2_over_i1(z: np.ndarray) -> np.ndarray:
    """I_2(z)/I_1(z) for z >= 0; series (z/4)(1 - z^2/24) below _SMALL (value 0 at z = 0)."""
    small = z < _SMALL
    zs = np.where(small, 1.0, z)
    ratio = special.ive(2, zs) / special.ive(1, zs)
    return np.where(small, 0.25 * z * (1.0 - z**2 / 24.0), ratio)


def p2_zero_temperature_energy(t):
    """Exact energy per spin of the p = 2, T = 0 quench.

    e(t) = -(1/4) d/dt log Gamma(2t) = -I_0(4t)/I_1(4t) + 1/(2t) = -I_2(4t)/I_1(4t),
    e(0) = 0, e(t) = -t + 2 t^3/3 + O(t^5) for small t, e -> -1 (+ 3/(8t)) for large t.
    """
    t = _check_times("t", t)
    out = 0.0 - _i2_over_i1(4.0 * t)   # 0.0 - : e(0) = +0.0
    return out if out.ndim else float(out)


def p2_zero_temperature_mu(t):
    """Exact Lagrange multiplier of the p = 2, T = 0 quench: mu(t) = -2 e(t) = 2 I_2(4t)/I_1(4t).

    From the CK equation mu = T + int_0^t [f'(C) + f''(C) C] R ds with f = q^2/2:
    f'(C) R + f''(C) C R = 2 C R and e = -int C R ds, so mu = T - 2 e (here T = 0); mu -> 2.
    """
    t = _check_times("t", t)
    out = 2.0 * _i2_over_i1(4.0 * t)
    return out if out.ndim else float(out)


# ----------------------------------------------------------------------------------------------
# 2. equilibrium (one-time) equation

@numba.njit(cache=True)
def _fp(a1, x):
    """f'(x) = sum_k a1[k-1] x^(k-1) with a1[k-1] = k c_k / 2 (Horner)."""
    r = 0.0
    for i in range(a1.size - 1, -1, -1):
        r = r * x + a1[i]
    return r


@numba.njit(cache=True)
def _equilibrium_kernel(c, T, n_steps, h):
    """Implicit-trapezoid / trapezoid-convolution march of the one-time equation (see wrapper)."""
    K = c.size
    a1 = np.empty(K)                  # f'(x)  = sum a1[i] x^i
    for k in range(1, K + 1):
        a1[k - 1] = 0.5 * k * c[k - 1]
    a2 = np.zeros(max(K - 1, 1))      # f''(x) = sum a2[i] x^i
    for k in range(2, K + 1):
        a2[k - 2] = 0.5 * k * (k - 1) * c[k - 1]

    C = np.empty(n_steps + 1)
    D = np.empty(n_steps + 1)         # dC/dtau on the grid (from the equation itself)
    F = np.empty(n_steps + 1)         # f'(C) on the grid
    C[0] = 1.0
    D[0] = -T                         # the memory integral vanishes at tau = 0
    F[0] = _fp(a1, 1.0)
    den = 1.0 + h * F[0] / (2.0 * T)  # the (h/2) f'(C_0) D_n end term, moved to the left side
    for n in range(1, n_steps + 1):
        S = 0.0
        for k in range(1, n):
            S += F[n - k] * D[k]
        base = C[n - 1] + 0.5 * h * D[n - 1]
        x = C[n - 1] + h * D[n - 1]   # explicit Euler predictor
        for _ in range(60):           # scalar Newton for the implicit trapezoid step
            Dx = (-T * x - (h / T) * (0.5 * _fp(a1, x) * D[0] + S)) / den
            g = x - base - 0.5 * h * Dx
            dDx = (-T - (h / T) * 0.5 * _fp(a2, x) * D[0]) / den
            step = g / (1.0 - 0.5 * h * dDx)
            x -= step
            if abs(step) <= 1e-15 * (1.0 + abs(x)):
                break
        C[n] = x
        F[n] = _fp(a1, x)
        D[n] = (-T * x - (h / T) * (0.5 * F[n] * D[0] + S)) / den
    return C


def equilibrium_correlation(c, T, tau_max, dt):
    """Equilibrium correlation C_eq(tau) for T > T_d: solve the one-time mode-coupling equation

        dC/dtau = -T C(tau) - (1/T) int_0^tau ds f'(C(tau - s)) dC(s)/ds,     C(0) = 1,

    with f(q) = sum_k c_k q^k / 2, on the uniform grid tau_n = n dt, n = 0..N,
    N = floor(tau_max/dt) (up to rounding by 1e-9 relative, so tau_max = N dt when divisible).

    Scheme (second order in dt, O(N^2) work, O(N) memory): with D_n ~ dC/dtau(tau_n),

        memory:  M_n = dt [ f'(C_n) D_0 / 2 + sum_{k=1}^{n-1} f'(C_{n-k}) D_k + f'(C_0) D_n / 2 ]
                 (trapezoid rule for the convolution),
        slope:   D_n = -T C_n - M_n / T       (linear in D_n: solved for it exactly),
        step:    C_n = C_{n-1} + (dt/2) (D_{n-1} + D_n)   (implicit trapezoid rule),

    D_0 = -T.  The step equation is a scalar nonlinear equation for C_n (through f'(C_n) in the
    memory end term), solved by Newton's method from an explicit-Euler predictor to machine
    precision.  The compiled kernel is ``_equilibrium_kernel`` (``numba.njit(cache=True)``); this
    wrapper validates the input.  Only meaningful (a TTI state) for T > T_d; below T_d the equation
    still has a solution but it is not the long-time limit of the quench dynamics.

    Returns ``(tau, C)``, float arrays of length N + 1.
    Raises :class:`dmft.model.ParameterError` for invalid ``c``, ``T`` <= 0, ``dt`` <= 0 or
    ``tau_max`` < ``dt``.
    """
    c = _check_coefficients(c)
    T = _check_positive("T", T)
    dt = _check_positive("dt", dt)
    try:
        tau_max = float(tau_max)
    except (TypeError, ValueError):
        raise ParameterError(f"parameter 'tau_max' must be a float (got {tau_max!r})") from None
    if not math.isfinite(tau_max) or tau_max < dt:
        raise ParameterError(f"parameter 'tau_max' must be finite and >= dt = {dt!r} "
                             f"(got {tau_max!r})")
    n_steps = int(math.floor(tau_max / dt * (1.0 + 1e-9)))
    C = _equilibrium_kernel(c, T, n_steps, dt)
    return np.arange(n_steps + 1) * dt, C


def equilibrium_response(tau, C, T):
    """R_eq(tau) = -(1/T) dC_eq/dtau (fluctuation-dissipation theorem), R_eq(0) = 1.

    The derivative is taken from the samples by second-order finite differences
    (``numpy.gradient``, ``edge_order=2``; tau may be non-uniform).
    """
    T = _check_positive("T", T)
    tau = np.asarray(tau, dtype=float)
    C = np.asarray(C, dtype=float)
    if tau.ndim != 1 or tau.shape != C.shape or tau.size < 3:
        raise ParameterError("parameters 'tau' and 'C' must be 1-D arrays of the same length >= 3")
    return -np.gradient(C, tau, edge_order=2) / T


def equilibrium_energy(c, T) -> float:
    """Equilibrium energy per spin e = -f(1)/T (= -1/(2T) for pure p).

    Equals -int_0^inf f'(C) R ds with FDT: (1/T) int f'(C) dC = -(f(1) - f(0))/T, f(0) = 0.
    """
    c = _check_coefficients(c)
    T = _check_positive("T", T)
    return -0.5 * float(np.sum(c)) / T


def equilibrium_mu(c, T) -> float:
    """Equilibrium Lagrange multiplier mu = T + f'(1)/T (with FDT, int [f' + f'' C] R = [C f'(C)]/T)."""
    c = _check_coefficients(c)
    T = _check_positive("T", T)
    k = np.arange(1, c.size + 1)
    return T + 0.5 * float(np.sum(k * c)) / T


def p2_equilibrium_correlation(tau, T, nodes: int | None = None):
    """Exact equilibrium correlation of the p = 2 (spherical SK) model for T > 1 = T_c:

        C_eq(tau) = T int_{-2}^{2} rho(l) e^{-(mu - l) tau} / (mu - l) dl,   mu = T + 1/T,
                  = (2T/pi) int_0^pi sin^2(th) e^{-(mu - 2 cos th) tau} / (mu - 2 cos th) dth,

    (see the module docstring for the derivation).  The theta integrand is analytic and even and
    2 pi-periodic, so the trapezoid rule converges geometrically; the default number of nodes
    resolves the pole at th = i acosh(mu/2) and the peak of width ~ 1/sqrt(tau) at th = 0 far
    beyond double precision.  Vectorised over ``tau`` >= 0.
    """
    tau = _check_times("tau", tau)
    T = _check_positive("T", T)
    if T <= 1.0:
        raise ParameterError(f"parameter 'T' must be > 1 for the p = 2 equilibrium (got {T!r})")
    mu = T + 1.0 / T
    eta = math.acosh(mu / 2.0)
    tmax = float(np.max(tau)) if tau.size else 0.0
    if nodes is None:
        nodes = int(min(max(512, 60.0 / eta, 40.0 * math.sqrt(tmax + 1.0)), 200_000))
    th = np.linspace(0.0, math.pi, nodes + 1)
    w = np.full(th.size, math.pi / nodes)
    w[0] = w[-1] = 0.5 * math.pi / nodes
    gap = mu - 2.0 * np.cos(th)
    weights = w * np.sin(th) ** 2 / gap
    flat = tau.ravel()
    out = np.empty(flat.size)
    chunk = max(1, 2_000_000 // th.size)          # bounded memory for long tau arrays
    for i in range(0, flat.size, chunk):
        out[i:i + chunk] = np.exp(-np.multiply.outer(flat[i:i + chunk], gap)) @ weights
    out = ((2.0 * T / math.pi) * out).reshape(tau.shape)
    return out if out.ndim else float(out)


# ----------------------------------------------------------------------------------------------
# 3. textbook constants (pure p)

def dynamical_temperature(p) -> float:
    """T_d of the pure p-spin, f = q^p/2: T_d^2 = p (p-2)^(p-2) / (2 (p-1)^(p-1)).

    Largest T at which the plateau equation T^2 q = f'(q)(1 - q) has a solution q > 0
    (p = 3: sqrt(3/8) ~ 0.612; p = 2: T_d = T_c = 1, with 0^0 = 1).
    """
    p = _check_p(p)
    return math.sqrt(p * (p - 2.0) ** (p - 2.0) / (2.0 * (p - 1.0) ** (p - 1.0)))


def dynamical_plateau(p) -> float:
    """Plateau (Edwards-Anderson) value at T_d of the pure p-spin: q_d = (p-2)/(p-1) (p = 3: 1/2)."""
    p = _check_p(p)
    return (p - 2.0) / (p - 1.0)


def threshold_energy(p) -> float:
    """Threshold energy of the pure p-spin at T = 0: e_th = -sqrt(2 (p-1)/p) (p = 3: -1.1547)."""
    p = _check_p(p)
    return -math.sqrt(2.0 * (p - 1.0) / p)


def threshold_mu(c) -> float:
    """Asymptotic mu of the T = 0 quench (marginal stability): mu_th = 2 sqrt(f''(1)).

    For pure p this is sqrt(2 p (p-1)) = -p e_th.
    """
    c = _check_coefficients(c)
    k = np.arange(1, c.size + 1)
    return 2.0 * math.sqrt(float(np.sum(0.5 * k * (k - 1) * c)))
