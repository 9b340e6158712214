"""Large-width reduced descriptions of ``two-layer`` (solvers/two_layer_limits.py, two_layer.md §4):
finite-m SymmDMFT approaching each of them at the measured rate in m (two widths m, 4m: the error
ratio is ~4 for O(1/m)), exact reductions (tau', the frozen-a scaling, the p = 2 p-spin), the
mf2 energy and growth law, bad input, and the interpolation-threshold tool's measurement and fit."""
import functools
import math

import h5py
import numpy as np
import pytest
from scipy.integrate import cumulative_trapezoid

import dmft
from dmft.model import ParameterError, resolve
from dmft.run import Run
from solvers import pspin_reference, two_layer
from solvers import two_layer_limits as lim
from solvers import two_layer_threshold as thr


def params(method, **given):
    p = resolve(two_layer.TwoLayer.parameters, given, "test")
    p["method"] = method
    return p


def reduced(method, **given):
    return lim.solve(params(method, **given), Run("test"))


def pair(method, **given):
    return dmft.solve("two-layer", **given), reduced(method, **given)


def m_co(r, m):
    """m C_o(t,t) from wbar2 = 1/m + (m-1)/m C_o(t,t)."""
    return m * m / (m - 1) * (r["wbar2"] - 1.0 / m)


def worst(x):
    return float(np.max(np.abs(x)))


LZ1_NOISE = dict(alpha=0.5, tau=1.0, h=(0.3, 0.5), target="noise", init="lazy", gamma0=1.3, train_a=False)


@functools.lru_cache(maxsize=None)
def lz1_noise_finite(m):
    return dmft.solve("two-layer", m=m, t_max=4.0 / m, dt=0.04 / m, **LZ1_NOISE)   # t_hat = m t in [0, 4]


def lz1_noise_errors(m, gamma0=1.3):
    finite = lz1_noise_finite(m)
    limit = reduced("lz1", m=m, t_max=4.0 / m, dt=0.04 / m, **{**LZ1_NOISE, "gamma0": gamma0})
    return np.array([worst(finite["train_error"] - limit["train_error"]), worst(m_co(finite, m) - m_co(limit, m)),
                     worst(m * (finite["cd0"] - limit["cd0"])), worst(finite["nu"] - limit["nu"])])


def test_lz1_pure_noise_is_the_limit_at_fixed_mt_with_rate_1_over_m():
    small, large = lz1_noise_errors(32), lz1_noise_errors(128)
    ratio = small / large
    # measured: errors (e_tr, m C_o, m(C_d(t,0)-1), nu) m=32: 0.35 0.14 0.33 0.46, m=128: 0.10 0.036 0.10 0.14;
    # ratios 3.3-3.9 (-> 4 = O(1/m))
    assert np.all(ratio > 2.8), (small, large)
    assert np.all(large < [0.15, 0.05, 0.15, 0.2]), large
    # t = 0 is exact (e = [tau^2 + gamma0^2 h(1)]/2); negative control: gamma0 1.3 -> 1.2 misses it by 0.1
    finite = lz1_noise_finite(128)
    right = reduced("lz1", m=128, t_max=4.0 / 128, dt=0.04 / 128, **LZ1_NOISE)
    wrong = reduced("lz1", m=128, t_max=4.0 / 128, dt=0.04 / 128, **{**LZ1_NOISE, "gamma0": 1.2})
    assert abs(finite["train_error"][0] - right["train_error"][0]) < 1e-12
    assert abs(finite["train_error"][0] - wrong["train_error"][0]) > 0.05
    # e_tr at t_hat = 4 extrapolated in 1/m from m = 32, 128: measured -0.022 (the O(1/m^2) rest)
    ends = {m: lz1_noise_finite(m)["train_error"][-1]
            - reduced("lz1", m=m, t_max=4.0 / m, dt=0.04 / m, **LZ1_NOISE)["train_error"][-1] for m in (32, 128)}
    assert abs(4 * ends[128] - ends[32]) / 3 < 0.03 < abs(ends[128])


LZ1_SI = dict(alpha=0.3, tau=0.3, h=(0.9, 0.0, 1.0 / 6.0), target="single-index", init="lazy", gamma0=1.3,
              train_a=False)


def test_lz1_single_index_sqrt_m_v_errors_and_nu_at_fixed_mt():
    errors = {}
    for m in (32, 128):
        finite, limit = pair("lz1", m=m, t_max=4.0 / m, dt=0.04 / m, **LZ1_SI)
        np.testing.assert_allclose(limit["train_error"], limit["test_error"])
        errors[m] = np.array([worst(math.sqrt(m) * (finite["v"] - limit["v"])),
                              worst(finite["train_error"] - limit["train_error"]),
                              worst(finite["test_error"] - limit["test_error"]),
                              worst(m * (finite["cd0"] - limit["cd0"])), worst(finite["nu"] - limit["nu"])])
    ratio = errors[32] / errors[128]
    # measured (h''(0) = 0): m=128 errors sqrt(m) v 0.011, e_tr 0.020, e_ts 0.015, m dC_d 0.0034, nu 0.026;
    # ratios m=32/m=128 all > 2.8
    assert np.all(ratio > 2.8), errors
    assert errors[128][0] < 0.015 and np.all(errors[128][1:] < 0.05), errors[128]
    # sqrt(m) v -> v_inf = phihat'(0)/(gamma0 h'(0)) = 1/gamma0 for phihat = h (F.57)
    assert math.sqrt(128) * limit["v"][-1] == pytest.approx((1 - math.exp(-0.3 * 1.3 ** 2 * 0.9 * 4)) / 1.3)


def test_mf1_m_co_relaxes_as_linear_regression_of_the_noise():
    p = params("mf-ode", alpha=0.3, tau=0.6, h=(0.9, 0.0, 1.0 / 6.0), target="noise", init="mf", a0=1.0)
    assert lim.mf1_mCo(p, 1e6) == pytest.approx(1.0 / 3.0)  # §7.5: tau^2/rho0 - 1 = 0.36/0.27 - 1
    errors = {}
    for m in (64, 256):
        r = dmft.solve("two-layer", m=m, alpha=0.3, tau=0.6, h=(0.9, 0.0, 1.0 / 6.0), target="noise", a0=1.0,
                       t_max=6.0, dt=0.05)
        errors[m] = (worst(m_co(r, m) - lim.mf1_mCo(p, r.t)), worst(r["train_error"] - 0.18))
    # measured: m C_o error 0.039 (m=64), 0.011 (m=256); |e_tr - tau^2/2| 0.022, 0.0059
    assert errors[256][0] < 0.015 and errors[64][0] / errors[256][0] > 3.0
    assert errors[256][1] < 0.008 and errors[64][1] / errors[256][1] > 3.0


def test_mean_field_ode_is_the_fixed_t_limit_with_rate_1_over_m():
    names = ("train_error", "test_error", "a", "v", "cd0", "nu", "wbar2")
    errors = {}
    for m in (64, 256):
        finite, limit = pair("mf-ode", m=m, alpha=0.3, tau=0.6, h=(0.9, 0.0, 1.0 / 6.0), a0=1.0, t_max=4.0,
                             dt=0.05)
        errors[m] = np.array([worst(finite[k] - limit[k]) for k in names])
    # measured m=64 -> 256: e 0.018 -> 0.0046, a 1.4e-3 -> 3.4e-4, v 0.024 -> 0.0063, C_d(t,0) 7e-3 -> 1.8e-3
    ratio = errors[64] / errors[256]
    assert np.all(ratio > 3.5) and np.all(ratio < 4.5), ratio
    assert np.all(errors[256] < 0.008), errors[256]
    # the fixed point (a, v) = (1, 1) for phihat = h: error -> tau^2/2 (slowly)
    far = reduced("mf-ode", alpha=0.3, tau=0.6, h=(0.9, 0.0, 1.0 / 6.0), a0=1.0, t_max=400.0, dt=1.0)
    assert far["a"][-1] == pytest.approx(1.0, abs=0.02) and far["v"][-1] == pytest.approx(1.0, abs=0.02)


def lz2_errors(m, **given):
    finite, limit = pair("lz2", m=m, t_max=2.0, dt=0.01, **given)
    late = finite.t >= 0.5          # after the lz1 transient (t ~ 1/m)
    return np.array([worst((finite[k] - limit[k])[late]) for k in ("train_error", "test_error", "cd0", "nu")])


def test_lz2_is_the_order_one_limit_with_gamma0_not_1():
    # gamma0 = 1.3: the printed kernel M = alpha[...] (erratum F.23, missing gamma0^2) would fail
    given = dict(alpha=0.5, tau=1.0, h=(0.3, 0.5), target="noise", init="lazy", gamma0=1.3, train_a=False)
    small, large = lz2_errors(16, **given), lz2_errors(64, **given)
    # measured (e_tr, e_ts, C_d(t,0), nu) m=16: 0.017 0.105 0.016 0.014; m=64: 0.0062 0.033 0.0055 0.0043
    # (ratios 2.7-3.2, O(1/m) with a preasymptotic tail)
    assert np.all(small / large > 2.5), (small, large)
    assert np.all(large < [0.01, 0.05, 0.01, 0.01]), large


def test_lz2_negative_control_wrong_gamma0_fails():
    given = dict(alpha=0.5, tau=1.0, h=(0.3, 0.5), target="noise", init="lazy", train_a=False, t_max=2.0, dt=0.01)
    finite = dmft.solve("two-layer", m=64, gamma0=1.3, **given)
    wrong = reduced("lz2", m=64, gamma0=1.0, **given)
    late = finite.t >= 0.5
    assert worst((finite["train_error"] - wrong["train_error"])[late]) > 0.05  # measured 0.082 (vs 0.0062 when right)


def test_tau_prime_reduction_single_index_lz2():
    assert lim.tau_prime(params("lz2", h=(0.9, 0.5), tau=0.3)) ** 2 == pytest.approx(0.59)        # §7.5
    assert lim.tau_prime(params("lz2", h=(0.9, 0.0, 1 / 6), tau=0.3)) ** 2 == pytest.approx(0.25667, abs=1e-5)
    assert lim.tau_prime(params("lz2", h=(0.9, 0.5), tau=0.3, target="noise")) == pytest.approx(0.3)
    given = dict(alpha=0.3, tau=0.3, h=(0.9, 0.0, 1.0 / 6.0), target="single-index", init="lazy", gamma0=1.3,
                 train_a=False, t_max=2.0, dt=0.01)
    limit = reduced("lz2", m=64, **given)
    noise = reduced("lz2", m=64, **{**given, "target": "noise", "tau": lim.tau_prime(params("lz2", **given))})
    np.testing.assert_allclose(limit["train_error"], noise["train_error"], rtol=1e-12)
    plateau = 0.5 * (0.25667 + 1.3 ** 2 / 6)       # e_ts frozen at the lz1 plateau (F.59)
    np.testing.assert_allclose(limit["test_error"], plateau, atol=1e-5)
    small, large = lz2_errors(16, **{k: v for k, v in given.items() if k not in ("t_max", "dt")}), \
        lz2_errors(64, **{k: v for k, v in given.items() if k not in ("t_max", "dt")})
    # measured (h''(0) = 0; e_tr, e_ts, C_d(t,0), nu): m=16 0.017 0.083 0.040 0.018, m=64 0.0058 0.014 0.011 0.0017
    assert np.all(small / large > 2.5), (small, large)
    assert np.all(large < 0.03), large


@pytest.mark.parametrize("method", ["dmft", "lz2"])
def test_frozen_a_pure_noise_scaling(method):
    c = math.sqrt(2.0)
    base = dict(m=4, alpha=0.5, h=(0.3, 0.5), target="noise", init="lazy", train_a=False)

    def run(tau, gamma0, t_max, dt):
        if method == "dmft":
            return dmft.solve("two-layer", tau=tau, gamma0=gamma0, t_max=t_max, dt=dt, **base)["train_error"]
        return reduced("lz2", tau=tau, gamma0=gamma0, t_max=t_max, dt=dt, **base)["train_error"]

    e1 = run(1.0, 1.0, 4.0, 0.02)
    e2 = run(c, c, 2.0, 0.01)         # e2(t) = c^2 e1(c^2 t): same step index, dt / c^2
    np.testing.assert_allclose(e2, c * c * e1, rtol=1e-9)   # exact for the discrete scheme (measured 1e-15)
    wrong = run(c, 1.0, 2.0, 0.01)    # negative control: tau scaled, a not
    assert np.max(np.abs(wrong / (c * c * e1) - 1)) > 0.1


def test_mf2_quadratic_htilde_follows_the_exact_p2_solution_and_growth_law():
    given = dict(m=64, alpha=0.3, tau=0.6, h=(0.9, 0.5), target="noise", init="mf", a0=1.0, t_max=200.0, dt=0.05)
    r = reduced("mf2", **given)
    tt, e = r["t_tilde"], r["pspin_energy"]
    exact = pspin_reference.p2_zero_temperature_energy(tt[1:])
    assert worst(e[1:] - exact) < 2e-3              # measured 4e-4 (Heun, dt_tilde = 0.05)
    speed = 0.6 * math.sqrt(0.3)
    assert r.solver["A_inf"] == pytest.approx(-speed * r.solver["final_energy"])
    assert r.solver["final_energy"] == pytest.approx(-1.0, abs=0.02)     # E -> -1 (measured -0.99 at t~)
    # integrated growth laws: a - a0 = -tau sqrt(alpha) int E dt_hat, t_tilde = tau sqrt(alpha) int a dt_hat
    t_hat = r.t / math.sqrt(64)
    np.testing.assert_allclose(r["a"] - 1.0, cumulative_trapezoid(-speed * e, t_hat, initial=0), atol=2e-3)
    np.testing.assert_allclose(tt, cumulative_trapezoid(speed * r["a"], t_hat, initial=0), rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(r["train_error"], 0.18)
    assert r["cd0"][0] == 1.0 and np.all(np.diff(r["cd0"]) < 1e-12)


def test_mf2_cubic_htilde_energy_approaches_minus_two_thirds_from_above():
    assert lim.threshold_energy(1 / math.sqrt(6), 3) == pytest.approx(-2.0 / 3.0)
    assert lim.threshold_energy(1 / math.sqrt(2), 2) == pytest.approx(-1.0)
    r = reduced("mf2", m=64, alpha=0.3, tau=0.6, h=(0.9, 0.0, 1.0 / 6.0), target="noise", init="mf", a0=1.0,
                t_max=200.0, dt=0.05)
    e = r["pspin_energy"]
    assert np.all(np.diff(e) <= 1e-12) and np.all(e > -2.0 / 3.0)
    assert -2.0 / 3.0 < r.solver["final_energy"] < -0.6   # measured -0.63
    assert r.solver["A_inf"] == pytest.approx(-0.6 * math.sqrt(0.3) * r.solver["final_energy"])


def test_bad_input_names_the_parameter():
    with pytest.raises(ParameterError, match="'init'"):
        reduced("lz1", init="mf", t_max=1.0)
    with pytest.raises(ParameterError, match="'init'"):
        reduced("mf-ode", init="lazy", t_max=1.0)
    with pytest.raises(ParameterError, match="'target'"):
        reduced("mf2", target="single-index", t_max=1.0)
    with pytest.raises(ParameterError, match="'h'"):
        reduced("lz2", init="lazy", h=(0.9,), t_max=1.0)
    with pytest.raises(ParameterError, match="'a_init'"):
        reduced("mf-ode", m=2, a_init=(1.0, 2.0), t_max=1.0)
    with pytest.raises(ParameterError, match="'method'"):
        reduced("lz3", t_max=1.0)


def test_relaxation_time_and_threshold_fit_are_exact_on_synthetic_data():
    t = np.linspace(0.0, 10.0, 11)
    assert thr.relaxation_time(t, np.exp(-2.0 * t), 1e-7) == pytest.approx(math.log(1e7) / 2)
    assert math.isnan(thr.relaxation_time(t, np.ones_like(t), 1e-7))
    alpha = np.array([0.5, 0.6, 0.65, 0.7, 0.72])
    fit = thr.fit_threshold(alpha, 3.0 * (0.75 - alpha) ** -2.0)
    assert fit["alpha_star"] == pytest.approx(0.75) and fit["c"] == pytest.approx(3.0)
    free = thr.fit_threshold(alpha, 3.0 * (0.75 - alpha) ** -1.7)
    assert free["alpha_star_free"] == pytest.approx(0.75, rel=1e-5) and free["kappa_free"] == pytest.approx(1.7, rel=1e-4)


def test_threshold_tool_writes_table_and_figure(tmp_path):
    p = resolve(thr.PARAMETERS, {"alpha": (0.1, 0.2, 0.3), "t_max": 20.0, "dt": 0.05}, "test")
    paths = thr.threshold(p, tmp_path, "test")
    assert [x.name for x in paths] == ["threshold.h5", "threshold.png"]
    with h5py.File(paths[0]) as f:
        assert f.attrs["tool"] == "threshold"
        t_rel = f["t_rel"][:]
        assert np.all(np.isfinite(t_rel)) and np.all(np.diff(t_rel) > 0)   # slower towards alpha*
        assert f.attrs["alpha_star"] > 0.3


def test_frozen_threshold_tool_finds_the_app_h_threshold(tmp_path):
    # App. H: a = 1 frozen, pure noise, tau = 1, h = 0.3z + z^2/2: alpha_bar_GF(infinity) ~ 1.18 (paper, Figs. 32-33)
    p = resolve(thr.FROZEN_PARAMETERS, dict(m=(64,), alpha_bar=(0.6, 0.7, 0.8), t_max=50.0), "test")
    paths = thr.frozen_threshold(p, tmp_path, "test")
    assert [x.name for x in paths] == ["frozen_threshold.h5", "frozen_threshold.png"]
    with h5py.File(paths[0]) as f:
        t_rel, star = f["t_rel"][0], f.attrs["alpha_bar_GF"]
    assert np.all(np.diff(t_rel) > 0)            # slower relaxation closer to the threshold
    assert star == pytest.approx(1.18, abs=0.03)  # measured 1.178 here (m = 1024, 5 alpha_bars: 1.178)


def test_frozen_threshold_rejects_bad_widths(tmp_path):
    for m in ((1,), (64.5,)):
        p = resolve(thr.FROZEN_PARAMETERS, dict(m=m), "test")
        with pytest.raises(ParameterError, match="parameter 'm'"):
            thr.frozen_threshold(p, tmp_path, "test")
