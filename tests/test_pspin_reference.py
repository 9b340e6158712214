"""Reference solutions of the spherical p-spin (solvers/pspin_reference.py, theory/pspin.md)."""
import math

import numpy as np
import pytest
from scipy import integrate, special

from dmft.model import ParameterError
from solvers import pspin_reference as P

PURE3 = [0.0, 0.0, 1.0]
PURE2 = [0.0, 1.0]


# ------------------------------------------------------------------------- p = 2, T = 0, exact

def test_gamma_is_the_semicircle_moment_generating_function():
    # Gamma(x) = I_1(2x)/x = int rho(l) e^{l x} dl, rho the semicircle on [-2, 2]
    for x in (0.0, 1e-5, 0.3, 2.0, 10.0):
        val, _ = integrate.quad(lambda l: math.sqrt(4 - l * l) / (2 * math.pi) * math.exp(l * x),
                                -2, 2, epsabs=0, epsrel=1e-13)
        assert P.p2_gamma_log(x) == pytest.approx(math.log(val), abs=1e-12)


def test_energy_closed_form_is_minus_quarter_log_derivative():
    t = np.array([1e-3, 0.05, 0.3, 1.0, 3.0, 10.0, 100.0, 1000.0])
    h = 1e-4 * (1.0 + t)
    fd = -0.25 * (P.p2_gamma_log(2 * (t + h)) - P.p2_gamma_log(2 * (t - h))) / (2 * h)
    e = P.p2_zero_temperature_energy(t)
    np.testing.assert_allclose(e, fd, rtol=0, atol=2e-8)
    # the literal form -I_0(4t)/I_1(4t) + 1/(2t) (moderate t, where it does not cancel or overflow)
    tm = t[(t >= 0.05) & (t <= 100)]
    literal = -special.iv(0, 4 * tm) / special.iv(1, 4 * tm) + 1 / (2 * tm)
    np.testing.assert_allclose(P.p2_zero_temperature_energy(tm), literal, rtol=1e-12, atol=1e-13)


def test_energy_limits_without_overflow():
    assert P.p2_zero_temperature_energy(0.0) == 0.0
    assert P.p2_zero_temperature_energy(1e-6) == pytest.approx(-1e-6, rel=1e-10)
    assert P.p2_zero_temperature_energy(0.1) == pytest.approx(-0.1 + 2 * 0.1**3 / 3, abs=1e-4)
    # series / Bessel switch (4t = 1e-4) is seamless
    a, b = P.p2_zero_temperature_energy([2.5e-5 * (1 - 1e-9), 2.5e-5 * (1 + 1e-9)])
    assert abs(a - b) < 1e-13
    with np.errstate(all="raise"):
        e = P.p2_zero_temperature_energy(1e4)
        c = P.p2_zero_temperature_correlation(1e4, [0.0, 1.0, 2.5e3, 1e4])
        r = P.p2_zero_temperature_response(1e4, 2.5e3)
    assert e == pytest.approx(-1 + 3 / (8e4), abs=1e-9)         # e -> -1 + 3/(8t)
    assert np.all(np.isfinite(c)) and np.all((c > 0) & (c <= 1)) and c[-1] == 1.0
    # large-time scaling form C ~ (2 sqrt(t t') / (t + t'))^{3/2}
    assert c[2] == pytest.approx(0.8**1.5, abs=1e-4)
    assert np.isfinite(r) and 0 < r < 1


def test_correlation_diagonal_symmetry_and_initial_condition():
    t = np.linspace(0, 50, 11)
    np.testing.assert_array_equal(P.p2_zero_temperature_correlation(t, t), 1.0)
    T, S = np.meshgrid(t, t)
    c = P.p2_zero_temperature_correlation(T, S)
    np.testing.assert_allclose(c, c.T, rtol=0, atol=1e-15)
    assert np.all((c > 0) & (c <= 1 + 1e-15))
    # C(t, 0) = Gamma(t) / sqrt(Gamma(2t)), R(t, t^-) = 1, R(t < s) = 0
    g = lambda x: special.iv(1, 2 * x) / x  # noqa: E731
    assert P.p2_zero_temperature_correlation(3.0, 0.0) == pytest.approx(g(3.0) / math.sqrt(g(6.0)),
                                                                        rel=1e-13)
    assert P.p2_zero_temperature_response(2.0, 2.0) == 1.0
    assert P.p2_zero_temperature_response(1.0, 2.0) == 0.0


def test_mu_is_minus_two_e_and_equals_the_ck_integrals():
    for t in (0.5, 2.0, 10.0):
        cr = lambda s: P.p2_zero_temperature_correlation(t, s) * P.p2_zero_temperature_response(t, s)  # noqa
        int_cr, _ = integrate.quad(cr, 0, t, epsabs=1e-13, epsrel=1e-12)
        e, mu = P.p2_zero_temperature_energy(t), P.p2_zero_temperature_mu(t)
        assert mu == -2 * e
        assert e == pytest.approx(-int_cr, abs=1e-10)            # e = -int f'(C) R
        assert mu == pytest.approx(2 * int_cr, abs=1e-10)        # mu = T + int (f' + f'' C) R
    assert P.p2_zero_temperature_mu(1e4) == pytest.approx(P.threshold_mu(PURE2), abs=1e-4)


def test_exact_solution_satisfies_the_ck_equations():
    # f = q^2/2, T = 0: f'(C) = C, f''(C) = 1
    C, R, mu = P.p2_zero_temperature_correlation, P.p2_zero_temperature_response, P.p2_zero_temperature_mu
    t, tp, h = 2.0, 1.0, 1e-5
    q = lambda fn, a, b: integrate.quad(fn, a, b, epsabs=1e-13, epsrel=1e-12)[0]  # noqa: E731
    dC = (C(t + h, tp) - C(t - h, tp)) / (2 * h)
    rhs_c = (-mu(t) * C(t, tp) + q(lambda s: R(t, s) * C(s, tp), 0, t)
             + q(lambda s: C(t, s) * R(tp, s), 0, tp))
    assert dC == pytest.approx(rhs_c, abs=1e-8)
    dR = (R(t + h, tp) - R(t - h, tp)) / (2 * h)
    rhs_r = -mu(t) * R(t, tp) + q(lambda s: R(t, s) * R(s, tp), tp, t)
    assert dR == pytest.approx(rhs_r, abs=1e-8)


# ------------------------------------------------------------------------- equilibrium solver

def test_equilibrium_solver_is_second_order():
    taus = (1.0, 2.0, 5.0)
    vals = []
    for dt in (0.04, 0.02, 0.01, 0.005):
        tau, c = P.equilibrium_correlation(PURE3, 1.0, 5.0, dt)
        assert tau[-1] == pytest.approx(5.0) and c[0] == 1.0
        vals.append([c[int(round(x / dt))] for x in taus])
    diffs = np.abs(np.diff(np.array(vals), axis=0))
    orders = np.log2(diffs[:-1] / diffs[1:])
    assert np.all((orders > 1.9) & (orders < 2.1)), orders
    assert diffs[-1].max() < 1e-5                           # measured 7.8e-6 (dt 0.01 -> 0.005)


def test_p2_reference_matches_the_bessel_integral():
    # C_eq(tau) = T int_tau^inf e^{-mu u} I_1(2u)/u du, mu = T + 1/T (independent quadrature)
    T = 1.5
    mu = T + 1 / T
    for tau in (0.0, 0.5, 3.0, 20.0):
        ref = T * integrate.quad(lambda u: special.ive(1, 2 * u) * math.exp(-(mu - 2) * u) / u
                                 if u > 0 else 1.0, tau, np.inf, epsabs=1e-15, epsrel=1e-13,
                                 limit=500)[0]
        assert P.p2_equilibrium_correlation(tau, T) == pytest.approx(ref, abs=1e-13)
    assert P.p2_equilibrium_correlation(0.0, 1.2) == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("T", [1.5, 2.0])
def test_equilibrium_solver_against_exact_p2(T):
    errs = []
    for dt in (0.02, 0.01, 0.005):
        tau, c = P.equilibrium_correlation(PURE2, T, 20.0, dt)
        errs.append(np.max(np.abs(c - P.p2_equilibrium_correlation(tau, T))))
    errs = np.array(errs)
    assert np.all(np.abs(np.log2(errs[:-1] / errs[1:]) - 2) < 0.05), errs
    assert errs[-1] < 6e-6
    assert np.all(errs / np.array([0.02, 0.01, 0.005]) ** 2 < 0.2)   # error ~ 0.12-0.18 dt^2


@pytest.mark.parametrize("T", [1.0, 0.8])
def test_p3_above_td_decays_without_plateau(T):
    tau, c = P.equilibrium_correlation(PURE3, T, 150.0, 0.01)
    assert np.all(np.diff(c) < 0) and np.all(c > 0)
    assert c[-1] < 1e-4
    assert c[int(round(20 / 0.01))] < 0.1                   # already far below q_d = 1/2 by tau = 20


def test_p3_near_td_has_long_plateau_near_qd():
    T = 0.62
    assert T > P.dynamical_temperature(3)
    tau, c = P.equilibrium_correlation(PURE3, T, 100.0, 0.01)
    assert np.all(np.diff(c) < 0)
    at = lambda x: c[int(round(x / 0.01))]                   # noqa: E731
    assert 0.4 < at(50) < 0.6                                # measured 0.5316
    assert all(0.45 < at(x) < 0.6 for x in (20, 30, 50, 70, 100))
    assert at(20) - at(100) < 0.08                           # slow: ~0.064 over 80 time units
    _, c2 = P.equilibrium_correlation(PURE3, T, 100.0, 0.02)
    assert abs(c2[int(round(50 / 0.02))] - at(50)) < 1e-4    # and resolved in dt


def test_fdt_energy_and_mu_from_the_solution():
    c_mixed, T = [0.0, 0.5, 0.5], 1.2
    tau, c = P.equilibrium_correlation(c_mixed, T, 60.0, 0.005)
    r = P.equilibrium_response(tau, c, T)
    assert r[0] == pytest.approx(1.0, abs=1e-4)
    e = -integrate.trapezoid(P.f_prime(c_mixed, c) * r, tau)
    mu = T + integrate.trapezoid((P.f_prime(c_mixed, c) + P.f_second(c_mixed, c) * c) * r, tau)
    # finite differences + trapezoid: O(dt^2) error, measured ~0.7 dt^2 = 1.8e-5 here
    assert e == pytest.approx(P.equilibrium_energy(c_mixed, T), abs=5e-5)
    assert mu == pytest.approx(P.equilibrium_mu(c_mixed, T), abs=1e-4)
    assert P.equilibrium_energy(PURE3, 2.0) == -0.25                   # -1/(2T) for pure p
    assert P.equilibrium_mu(PURE2, 1.5) == pytest.approx(1.5 + 1 / 1.5)
    assert P.equilibrium_mu(PURE3, 1.0) == pytest.approx(2.5)


# ------------------------------------------------------------------------- constants

def test_dynamical_temperature_and_plateau():
    assert P.dynamical_temperature(3) == pytest.approx(math.sqrt(3 / 8), rel=1e-15)
    assert P.dynamical_plateau(3) == 0.5
    assert P.dynamical_temperature(2) == 1.0 and P.dynamical_plateau(2) == 0.0
    # T_d^2 = max_q f'(q)(1 - q)/q, attained at q_d (plateau equation T^2 q = f'(q)(1 - q))
    q = np.linspace(1e-6, 1 - 1e-6, 200001)
    for p in (3, 4, 5):
        h = 0.5 * p * q ** (p - 2) * (1 - q)
        assert h.max() == pytest.approx(P.dynamical_temperature(p) ** 2, rel=1e-9)
        assert q[h.argmax()] == pytest.approx(P.dynamical_plateau(p), abs=1e-5)


def test_threshold_values():
    assert P.threshold_energy(3) == pytest.approx(-2 / math.sqrt(3))
    assert P.threshold_mu(PURE3) == pytest.approx(math.sqrt(12))
    for p in (2, 3, 4):
        c = [0.0] * (p - 1) + [1.0]
        assert P.threshold_mu(c) == pytest.approx(-p * P.threshold_energy(p))
    assert P.threshold_energy(2) == -1.0 and P.threshold_mu(PURE2) == 2.0


# ------------------------------------------------------------------------- validation

@pytest.mark.parametrize("kwargs, name", [
    (dict(T=0.0), "'T'"), (dict(T=-1.0), "'T'"), (dict(T=float("nan")), "'T'"),
    (dict(dt=0.0), "'dt'"), (dict(dt=-0.1), "'dt'"),
    (dict(tau_max=0.005), "'tau_max'"), (dict(tau_max=float("inf")), "'tau_max'"),
    (dict(c=[]), "'c'"), (dict(c=[0.0, -1.0]), "'c'"), (dict(c=[0.0, float("nan")]), "'c'"),
    (dict(c=[[0.0, 1.0]]), "'c'"), (dict(c=[0.0, 0.0]), "'c'"), (dict(c="abc"), "'c'"),
])
def test_equilibrium_input_validation(kwargs, name):
    args = dict(c=PURE3, T=1.0, tau_max=1.0, dt=0.01) | kwargs
    with pytest.raises(ParameterError, match=name):
        P.equilibrium_correlation(**args)


def test_other_input_validation():
    with pytest.raises(ParameterError, match="'t'"):
        P.p2_zero_temperature_energy(-1.0)
    with pytest.raises(ParameterError, match="'s'"):
        P.p2_zero_temperature_correlation(1.0, [0.5, -0.5])
    with pytest.raises(ParameterError, match="'p'"):
        P.dynamical_temperature(1.5)
    with pytest.raises(ParameterError, match="'T'"):
        P.equilibrium_energy(PURE3, 0.0)
    with pytest.raises(ParameterError, match="'T'"):
        P.p2_equilibrium_correlation(1.0, 0.9)
    with pytest.raises(ParameterError, match="'c'"):
        P.threshold_mu([-1.0])
    with pytest.raises(ParameterError, match="'tau'"):
        P.equilibrium_response([0.0, 1.0], [1.0, 0.5, 0.2], 1.0)
