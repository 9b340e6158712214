"""Numerics of the linear-regression DMFT against exact results (glm.md sections 3, 6, 7)."""
import numpy as np
import pytest

import dmft
from dmft.twotime import Correlation, Kernel, Response
from solvers import marchenko_pastur as mp


def relative(a, b, floor=1e-3):
    """max |a - b| / max(|b|, floor)."""
    return np.max(np.abs(np.asarray(a) - np.asarray(b)) / np.maximum(np.abs(b), floor))

GD_CASES = [
    dict(alpha=2.0, sigma2=0.25, ridge=0.0, q0=0.0, rho=1.0, dt=0.2),
    dict(alpha=0.5, sigma2=0.3, ridge=0.1, q0=0.0, rho=1.0, dt=0.2),     # alpha < 1, ridge
    dict(alpha=1.0, sigma2=0.5, ridge=0.0, q0=0.0, rho=1.0, dt=0.2),     # alpha = 1
    dict(alpha=1.5, sigma2=0.2, ridge=0.05, q0=0.5, rho=2.0, dt=0.3),    # random start
]


def closed_form(r, method="gd"):
    p = r.params
    return mp.errors(p["alpha"], p["sigma2"], p["ridge"], p["rho"], p["q0"], r.t, method, p["dt"])


def test_reference_value_gd():
    """glm.md section 6: alpha=2, sigma2=0.25, dt=0.2, t=1 (5 GD steps)."""
    r = dmft.solve("linear-regression", alpha=2, sigma2=0.25, ridge=0, dt=0.2, t_max=1, method="gd")
    assert r.t[-1] == pytest.approx(1.0)
    assert r["test_error"][-1] == pytest.approx(0.5453215, abs=5e-8)
    assert r["train_error"][-1] == pytest.approx(0.2582672, abs=5e-8)


@pytest.mark.parametrize("case", GD_CASES, ids=lambda c: f"alpha={c['alpha']},ridge={c['ridge']},q0={c['q0']}")
def test_discrete_dmft_equals_gd_closed_form(lr_solve, case):
    """The discrete DMFT at step dt is GD: equal to the MP formulas of section 7.4 (>= 9 digits)."""
    r = lr_solve(method="gd", t_max=20, **case)
    exact = closed_form(r)
    for name in ("test_error", "train_error", "m", "q"):
        assert relative(r[name], exact[name]) < 1e-9, name


@pytest.mark.parametrize("case", GD_CASES, ids=lambda c: f"alpha={c['alpha']},ridge={c['ridge']}")
def test_response_equals_mp_integral(lr_solve, case):
    """R_ij = int (1 - dt (s + ridge))^(i-j-1) dmu(s), atom included (section 7.2)."""
    r = lr_solve(method="gd", t_max=20, **case)
    i, j = np.tril_indices(len(r.t), -1)
    exact = mp.response(case["alpha"], case["ridge"], (i - j - 1) * case["dt"], "gd", case["dt"])
    assert np.max(np.abs(r.order["R"][i, j] - exact)) < 1e-11


def test_fixed_point_scheme_equals_march(lr_solve):
    """Two drivers, one discrete system: fixed-point sweeps reach the marched solution."""
    march = lr_solve(method="gd", dt=0.2, t_max=6, alpha=0.8, ridge=0.05, sigma2=0.3, q0=0.2)
    fixed = lr_solve(method="gd", dt=0.2, t_max=6, alpha=0.8, ridge=0.05, sigma2=0.3, q0=0.2, scheme="iterate")
    assert fixed.solver["converged"] and fixed.solver["method"] == "fixed-point"
    # causality: sweep k fixes row k-1, so at most N + 1 sweeps are needed
    assert fixed.solver["iterations"] <= len(march.t) + 1
    history = fixed.solver["residual_history"]
    assert history[-1] < 1e-13 and history[0] > 1e-3
    for name in march.observables:
        np.testing.assert_allclose(fixed[name], march[name], rtol=0, atol=1e-12)
    for name in march.order:
        np.testing.assert_allclose(fixed.order[name], march.order[name], rtol=0, atol=1e-12)


def test_gradient_flow_converges_at_first_order():
    """Euler error vs the exact GF closed form halves with dt; Richardson gives O(dt^2)."""
    t_end = 2.0
    values = {}
    for dt in (0.04, 0.02, 0.01):
        r = dmft.solve("linear-regression", method="gf", dt=dt, t_max=t_end, alpha=1.5, sigma2=0.3, ridge=0.05)
        values[dt] = np.array([r[k][-1] for k in ("test_error", "train_error", "m", "q")])
    p = r.params
    exact = mp.errors(p["alpha"], p["sigma2"], p["ridge"], p["rho"], p["q0"], np.array([t_end]), "gf")
    exact = np.array([exact[k][0] for k in ("test_error", "train_error", "m", "q")])
    err = {dt: np.abs(v - exact) for dt, v in values.items()}
    order_1 = np.log2(err[0.04] / err[0.02])
    order_2 = np.log2(err[0.02] / err[0.01])
    assert np.all(np.abs(order_1 - 1) < 0.1) and np.all(np.abs(order_2 - 1) < 0.05), (order_1, order_2)
    richardson = 2 * values[0.01] - values[0.02]
    assert np.max(np.abs(richardson - exact)) < 1e-4


def test_causality_symmetry_and_positivity(lr_solve):
    r = lr_solve(method="gd", t_max=20, **GD_CASES[1])
    R, C, C_g, Gamma = (r.order[k] for k in ("R", "C", "C_g", "Gamma"))
    assert Response(data=R).causality_violation() == 0.0
    assert Response(data=R).jump_error() == 0.0
    assert Kernel(data=Gamma).causality_violation() == 0.0
    for X in (C, C_g):
        assert Correlation(data=X).asymmetry() == 0.0
        assert Correlation(data=X).min_eigenvalue() > -1e-12 * np.max(np.abs(X))
    assert C[0, 0] == 0.0 and r["m"][0] == 0.0
    assert r.solver["causality_violation"] == 0.0 and r.solver["symmetry_violation"] == 0.0


# ---------------------------------------------------------------- analytic limits (section 7.5)

LONG = dict(method="gd", dt=0.3, t_max=300.0)   # slowest mode decays like exp(-s_- t)


@pytest.mark.parametrize("alpha", [2.0, 4.0])
def test_long_time_limit_alpha_above_one(lr_solve, alpha):
    s2 = 0.25
    r = lr_solve(alpha=alpha, sigma2=s2, **LONG)
    assert r["test_error"][-1] == pytest.approx(s2 * alpha / (alpha - 1), rel=1e-6)
    assert r["train_error"][-1] == pytest.approx(s2 * (1 - 1 / alpha), rel=1e-6)


def test_long_time_limit_alpha_below_one(lr_solve):
    alpha, s2, rho = 0.5, 0.25, 1.0
    r = lr_solve(alpha=alpha, sigma2=s2, dt=0.3, method="gd", t_max=150.0)  # dt < 2/s_+ = 0.343
    assert r["test_error"][-1] == pytest.approx(s2 + rho * (1 - alpha) + s2 * alpha / (1 - alpha), rel=1e-6)
    assert abs(r["train_error"][-1]) < 1e-8


def test_ridge_limit(lr_solve):
    """t -> infinity with ridge: the ridge risk, integrated independently on MP nodes."""
    alpha, s2, lam = 1.2, 0.4, 0.2
    r = lr_solve(alpha=alpha, sigma2=s2, ridge=lam, **LONG)
    s, w = mp.MarchenkoPastur(alpha).nodes
    atom = max(0.0, 1 - alpha)
    risk = s2 + ((lam / (s + lam)) ** 2 @ w + atom) + s2 / alpha * (s / (s + lam) ** 2 @ w)
    assert r["test_error"][-1] == pytest.approx(risk, rel=1e-6)


def test_initial_values_and_slopes():
    """t=0: test = train = rho + sigma2; dE_test/dt = -2 rho; dE_train/dt = -2[rho(1+1/alpha) + sigma2/alpha]."""
    alpha, s2, rho, dt = 1.7, 0.3, 1.4, 1e-3
    r = dmft.solve("linear-regression", alpha=alpha, sigma2=s2, rho=rho, ridge=0.3, dt=dt, t_max=10 * dt)
    assert r["test_error"][0] == r["train_error"][0] == pytest.approx(rho + s2, rel=1e-15)
    slope_test = (r["test_error"][1] - r["test_error"][0]) / dt
    slope_train = (r["train_error"][1] - r["train_error"][0]) / dt
    assert slope_test == pytest.approx(-2 * rho, rel=1e-2)
    assert slope_train == pytest.approx(-2 * (rho * (1 + 1 / alpha) + s2 / alpha), rel=1e-2)
    # early gap E_test - E_train ~ 2 t (rho + sigma2) / alpha
    gap = r["test_error"][5] - r["train_error"][5]
    assert gap == pytest.approx(2 * r.t[5] * (rho + s2) / alpha, rel=2e-2)


def test_alpha_one_test_error_grows_like_sqrt_t():
    """At alpha = 1 with noise, E_test ~ A sqrt(t): increments over t -> 4t -> 16t double."""
    t = np.array([100.0, 400.0, 1600.0])
    e = mp.errors(1.0, 0.5, 0.0, 1.0, 0.0, t, "gf")["test_error"]
    assert (e[2] - e[1]) / (e[1] - e[0]) == pytest.approx(2.0, rel=0.05)


def test_large_alpha_no_overfitting(lr_solve):
    r = lr_solve(alpha=1000.0, sigma2=0.25, method="gd", dt=0.2, t_max=10)
    train_mse_excess = r["train_error"] - r.params["sigma2"] * (1 - 1 / 1000.0)
    assert np.max(np.abs(r["test_error"] - r.params["sigma2"] - train_mse_excess)) < 1e-2


def test_overfitting_peak_and_ridge_tames_it(lr_solve):
    """sigma2 > 0, alpha near 1: test error non-monotone; ridge lowers the late-time error."""
    plain = lr_solve(alpha=1.1, sigma2=0.5, method="gd", dt=0.2, t_max=100)
    ridged = lr_solve(alpha=1.1, sigma2=0.5, ridge=0.3, method="gd", dt=0.2, t_max=100)
    e = plain["test_error"]
    k = int(np.argmin(e))
    assert 0 < k < len(e) - 1 and e[-1] > e[k] + 0.1
    assert ridged["test_error"][-1] < e[-1] - 0.1
    assert np.max(ridged["test_error"][k:]) - np.min(ridged["test_error"][k:]) < 0.1


def test_gd_divergence_is_reported_and_rows_kept():
    """Step above 2/s_+ : GD diverges; the run stops with a message and keeps the finite rows."""
    r = dmft.solve("linear-regression", method="gd", dt=1.5, t_max=600)
    assert r.solver["converged"] is False and "diverged" in r.solver["status"]
    assert 0 < len(r.t) < 401
    for x in list(r.observables.values()) + list(r.order.values()):
        assert np.all(np.isfinite(x))


def test_gf_unstable_step_rejected():
    with pytest.raises(dmft.ParameterError, match="'dt' must be <"):
        dmft.solve("linear-regression", method="gf", dt=0.8)
