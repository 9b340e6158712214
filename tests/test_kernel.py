"""Model ``kernel``: spectrum, exact oracle world, Laplace DMFT against exact and time-domain
references, Talbot convergence, three-stage record, parameter checks, divergence handling."""
import numpy as np
import pytest

import dmft
from solvers import kernel_curves, kernel_laplace, marchenko_pastur
from solvers.kernel_spectrum import Kernel, Spectrum, bessel_mass, multiplicity, quadrature_xi

EXP100 = Spectrum(100, Kernel())


# ------------------------------------------------------------------ spectrum (kernel.md 2.2)

def test_reference_eigenvalues_and_multiplicities():
    assert np.allclose(EXP100.xi[:4], [1.005012, 1.004914e-2, 9.85117e-5, 9.47142e-7], rtol=5e-6)
    assert np.allclose(multiplicity(100, [0, 1, 2, 3]), [1, 100, 5049, 171600], rtol=1e-13, atol=0)
    assert np.allclose(multiplicity(3, np.arange(6)), 2 * np.arange(6) + 1)   # B(3, l) = 2l + 1


def test_three_routes_agree():
    l = np.arange(12)
    assert np.allclose(bessel_mass(100, l), EXP100.mass[:12], rtol=1e-12, atol=0)
    assert np.allclose(quadrature_xi(100, np.exp, range(4)), EXP100.xi[:4], rtol=1e-9, atol=0)
    poly = Kernel("poly", (0.3, 1.0, 0.5, 0.2))
    xi = Spectrum(40, poly).xi
    assert np.allclose(quadrature_xi(40, lambda u: poly.h(u, 40), range(4)), xi, rtol=1e-10, atol=0)
    # negative control: the wrong dimension is far off
    assert not np.allclose(bessel_mass(101, l), EXP100.mass[:12], rtol=1e-3)


@pytest.mark.parametrize("d", [50, 100, 400, 1000])
def test_sum_rule_and_large_d_limit(d):
    s = Spectrum(d, Kernel())
    assert abs(s.mass.sum() - np.e) < 2e-12
    # xi B -> h^(l)(0)/l! = 1/l! with O(1/d) corrections
    err = np.abs(s.mass[1:4] * [1, 2, 6] - 1)
    assert np.all(err < 10 / d) and np.all(err > 0.1 / d)


def test_boost_changes_one_degree_by_exactly_c():
    boosted = Spectrum(100, Kernel(boosts=((3, 0.5),)))
    delta = boosted.mass - EXP100.mass
    assert abs(delta[3] - 0.5) < 1e-14 and np.all(np.abs(np.delete(delta, 3)) < 1e-15)
    assert abs(boosted.h1 - np.e - 0.5) < 1e-14        # c P_3(1) = c


# ------------------------------------------------------------------ oracle world (section 3)

def test_oracle_curve_is_the_exact_sum_of_exponentials():
    r = dmft.solve("kernel", target=(1.0, 0.6, 0.3), sigma2=0.2, points=21)
    xi = quadrature_xi(100, np.exp, [1, 2, 3])                       # an independent route to xi
    expected = 0.2 + np.exp(-2 * np.outer(r.t, xi)) @ [1.0, 0.6, 0.3]
    assert np.allclose(r["oracle_test"], expected, rtol=1e-9, atol=0)


def test_progressive_learning_degree_l_at_one_over_xi():
    r = dmft.solve("kernel", points=141, t_max=1e7)
    logt = np.log(r.t[1:])
    for l in (1, 2, 3):
        # the oracle passes halfway down the degree-l step at t = tau_l ln2/2 (separated scales)
        level = r.solver[f"plateau_{l}"] + 0.5
        crossing = np.exp(np.interp(-level, -r["oracle_test"][1:], logt))
        assert abs(crossing / (r.solver[f"tau_{l}"] * np.log(2) / 2) - 1) < 0.03
    # empirical world: degree 1 half learned within a factor 2 of tau_1; degree 2 (n << d^2) never
    half = np.exp(np.interp(0.5, r["learned_1"][1:], logt))
    assert 0.5 < half / r.solver["tau_1"] < 2
    assert r["learned_2"][-1] < 0.2


# ------------------------------------------------------------------ Laplace DMFT (6.3, 6.4)

def _isotropic(alpha, sigma2, d=100):
    return kernel_laplace.Groups(np.array([1.0]), np.array([float(d)]), np.array([1.0]), alpha * d, sigma2)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_laplace_equals_marchenko_pastur(alpha):
    t = np.array([0.5, 1, 3, 10, 30, 100])
    c = kernel_laplace.curves(_isotropic(alpha, 0.25), t)
    ref = marchenko_pastur.errors(alpha, 0.25, 0.0, 1.0, 0.0, t)
    assert np.max(np.abs(c["test_error"] - ref["test_error"])) < 1e-8
    assert np.max(np.abs(c["train_error"] - ref["train_error"])) < 1e-8
    lag = marchenko_pastur.response(alpha, 0.0, t)                     # learned = 1 - R(t)
    assert np.max(np.abs(1 - c["learned"][:, 0] - lag)) < 1e-8
    wrong = marchenko_pastur.errors(alpha * 1.05, 0.25, 0.0, 1.0, 0.0, t)   # negative control
    assert np.max(np.abs(c["test_error"] - wrong["test_error"])) > 1e-3


def test_talbot_converges_exponentially_in_the_nodes():
    t = np.array([1.0, 10.0, 100.0])
    ref = marchenko_pastur.errors(2.0, 0.25, 0.0, 1.0, 0.0, t)["test_error"]
    errors = [np.max(np.abs(kernel_laplace.curves(_isotropic(2.0, 0.25), t, M)["test_error"] - ref))
              for M in (6, 10, 14, 18)]
    assert all(b < a / 10 for a, b in zip(errors, errors[1:]))   # > a decade per 4 nodes
    assert errors[-1] < 1e-8


def test_laplace_equals_linear_regression_time_domain_dmft(lr_solve):
    """The causal march of `linear-regression` (Euler scheme of GF, first order in dt) at dt and
    dt/2, Richardson-extrapolated, against the Laplace route: 6 decimals (measured <= 5e-7)."""
    alpha, sigma2 = 1.5, 0.3
    coarse, fine = (lr_solve(alpha=alpha, sigma2=sigma2, t_max=2.0, dt=dt) for dt in (0.004, 0.002))
    times = np.array([0.5, 1.0, 2.0])
    pick = [np.flatnonzero(np.isclose(r.t[:, None], times).any(axis=1)) for r in (coarse, fine)]
    c = kernel_laplace.curves(_isotropic(alpha, sigma2, d=200), times)
    for name in ("test_error", "train_error"):
        x1, x2 = coarse[name][pick[0]], fine[name][pick[1]]
        e1, e2 = np.abs(x1 - c[name]), np.abs(x2 - c[name])
        assert np.all(np.abs(np.log2(e1 / e2) - 1) < 0.1)              # first order in dt
        assert np.max(np.abs(2 * x2 - x1 - c[name])) < 1e-6   # 6 decimals (values 0.17-0.7) after Richardson


# ------------------------------------------------------------------ the model

def test_solve_record_and_three_stages():
    r = dmft.solve("kernel", points=36)
    s = r.solver
    assert s["L"] == 1 and abs(s["kappa"] - 1.5) < 1e-12 and s["converged"]
    assert abs(s["tau_int"] - 1000 / EXP100.mass[2:].sum()) < 1e-6 * s["tau_int"]
    assert s["tau_1"] < s["tau_int"] < s["tau_2"] < s["tau_3"] and s["separated"]
    assert s["plateau_1"] == pytest.approx(2.1) and "deep bootstrap" in s["three_stages"]
    assert s["inversion_error"] < 1e-8
    assert np.allclose(s["xi"][:3], EXP100.xi[:3], rtol=1e-14)
    text = dmft.show(r)
    assert "stage 2" in text and "tau_int" in text
    # stage 3: the empirical test error is frozen above plateau_1 (variance excess) and the
    # oracle falls below it after tau_2
    late = r.t > 10 * s["tau_2"]
    assert np.ptp(r["test_error"][late]) < 1e-8 and 2.1 < r["test_error"][-1] < 2.1 * 1.15
    assert np.all(r["oracle_test"][late] < r["test_error"][late] - 0.3)


def test_poly_kernel_without_high_degrees_never_interpolates():
    r = dmft.solve("kernel", kernel="poly", coefficients=(1.0, 1.0), target=(1.0, 1.0), points=11)
    # h has degrees 0, 1 only: degree 2 of the target is never learned and train never reaches 0
    assert np.all(np.abs(r["learned_2"]) < 1e-9) and r["train_error"][-1] > 0.5


@pytest.mark.parametrize("given, message", [
    ({"kernel": "poly"}, "coefficients"),
    ({"coefficients": (1.0, 2.0)}, "coefficients"),
    ({"kernel": "poly", "coefficients": (1.0, -0.1)}, ">= 0"),
    ({"target": (1.0, -1.0)}, "target"),
    ({"t_min": 10.0, "t_max": 5.0}, "t_min"),
    ({"d": 5, "target": (1.0, 1.0, 1.0)}, "'d' must be >= 6"),
    ({"talbot": 4}, "talbot"),
    ({"d": 2}, "'d'"),
])
def test_bad_input_is_rejected_before_work(given, message):
    with pytest.raises(dmft.ParameterError, match=message):
        dmft.check_params("kernel", **given)


def test_inversion_failure_keeps_the_computed_times(monkeypatch):
    real = kernel_laplace.curves
    calls = []

    def failing(groups, t, M=24):
        calls.append(1)
        if len(calls) > 2:          # the second chunk of times (two calls per chunk)
            raise kernel_laplace.InversionError("forced")
        return real(groups, t, M)
    monkeypatch.setattr(kernel_laplace, "curves", failing)
    r = dmft.solve("kernel", points=40)
    assert not r.solver["converged"] and "forced" in r.solver["status"]
    assert len(r.t) == 1 + kernel_curves.TIME_CHUNK and np.all(np.isfinite(r["test_error"]))
