"""two-layer (Montanari-Urbani Gaussian DMFT): initial values, general m against SymmDMFT,
symmetries, dt order, causality/PSD, the train error two ways, the long-time scheme, divergence
and bad input.  Large-width limits: tests/test_two_layer_limits.py; simulations:
tests/test_two_layer_simulator.py and test_two_layer_validation.py."""
import functools

import numpy as np
import pytest

import dmft
import solvers.two_layer as two_layer
from dmft.model import resolve
from dmft.run import Run

SMALL = dict(m=8, alpha=0.5, tau=0.5, h=(0.5, 0.5), t_max=3.0)
SETTING1 = dict(m=4, alpha_bar=1.5, tau=1.0, h=(0.1, 0.5), target="noise", a_init=(1, 1, -1, -1),
                c_init=(1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1), t_max=3.0, dt=0.05)


@pytest.fixture(scope="module")
def solve(cached_solve):
    return functools.partial(cached_solve, "two-layer")


def test_initial_values_are_the_closed_forms(solve):
    r = solve(**SMALL, dt=0.05)
    h1 = 1.0   # h(1) = 0.5 + 0.5; phi = h so ||phi||^2 = 0.5^2/0.5 + 0.5^2/0.5 = 1
    e0 = 0.5 * (0.25 + 1.0 + h1 / 8)
    assert r["train_error"][0] == pytest.approx(e0, abs=1e-14)
    assert r["test_error"][0] == pytest.approx(e0, abs=1e-14)
    assert r.order["C_A"][0, 0] == pytest.approx(-2 * e0, abs=1e-14)
    # first a step: the population gradient (alpha_bar/m)[phihat(0) - (1/m) a h(1)] = -0.5/8 at v = 0
    a = r["a"]
    slope = (-3 * a[0] + 4 * a[1] - a[2]) / (2 * 0.05)          # second-order one-sided difference
    assert slope == pytest.approx(-0.5 * 1.0 / 8, rel=0.01)


def test_general_m_equals_symmdmft_for_a_symmetric_start(solve, monkeypatch):
    kw = dict(m=4, alpha_bar=1.5, tau=1.0, h=(0.1, 0.5), a0=1.3, t_max=2.0, dt=0.05)
    symm = solve(**kw)
    monkeypatch.setattr(two_layer, "is_symmetric", lambda a, c: False)
    general = dmft.solve("two-layer", **kw)
    assert symm.solver["method"] == "SymmDMFT" and general.solver["method"].startswith("general-m")
    for name in symm.observables:
        np.testing.assert_allclose(general[name], symm[name], atol=1e-13, err_msg=name)
    np.testing.assert_allclose(general.order["C_1_2"], symm.order["C_o"], atol=1e-13)
    np.testing.assert_allclose(general.order["R_3_1"], symm.order["R_o"], atol=1e-13)
    np.testing.assert_allclose(general.order["C_4_4"], symm.order["C_d"], atol=1e-13)


def test_setting1_keeps_its_symmetries_and_permuting_neurons_permutes_outputs(solve):
    r = solve(**SETTING1)
    assert r.solver["method"].startswith("general-m")
    a = [r[f"a_{i}"] for i in range(1, 5)]
    np.testing.assert_allclose(a[0], a[1], atol=1e-12)           # (12)(34) symmetry
    np.testing.assert_allclose(a[0], -a[2], atol=1e-12)          # pure noise: a -> -a with (13)(24)
    assert abs(a[0][-1] - 1.0) > 0.05                            # and a actually moves
    np.testing.assert_allclose(r["ctt_1_3"], r["ctt_2_4"], atol=1e-12)
    np.testing.assert_allclose(r["ctt_1_2"], r["ctt_3_4"], atol=1e-12)


def test_permuting_neurons_in_the_initial_data_permutes_the_outputs():
    a0 = np.array([1.0, -0.5, 0.3, 0.7])
    c0 = np.eye(4)
    c0[0, 1] = c0[1, 0] = 0.3
    c0[2, 3] = c0[3, 2] = -0.2
    perm = [2, 0, 3, 1]                      # neuron i of the second run is neuron perm[i] of the first
    base = {**SETTING1, "t_max": 1.5}
    p = dmft.solve("two-layer", **{**base, "a_init": tuple(a0), "c_init": tuple(c0.ravel())})
    q = dmft.solve("two-layer", **{**base, "a_init": tuple(a0[perm]),
                                   "c_init": tuple(c0[np.ix_(perm, perm)].ravel())})
    for i in range(4):
        np.testing.assert_allclose(q[f"a_{i + 1}"], p[f"a_{perm[i] + 1}"], atol=1e-12)
        for j in range(4):
            np.testing.assert_allclose(q[f"c0_{i + 1}_{j + 1}"], p[f"c0_{perm[i] + 1}_{perm[j] + 1}"], atol=1e-12)
    assert np.max(np.abs(p["a_1"] - p["a_2"])) > 0.1


def test_heun_is_second_order_and_richardson_third(solve):
    def at(r, name):
        return r[name][np.round(np.array([1.0, 2.0, 3.0]) / (r.t[1] - r.t[0])).astype(int)]
    ref = solve(**SMALL, dt=0.025, richardson=True)
    errors = {name: [np.max(np.abs(at(solve(**SMALL, dt=dt), name) - at(ref, name))) for dt in (0.2, 0.1, 0.05)]
              for name in ("train_error", "test_error", "a", "v", "cd0")}
    for name, e in errors.items():
        orders = np.log2(np.array(e[:-1]) / np.array(e[1:]))
        assert np.all((orders > 1.85) & (orders < 2.3)), (name, e, orders)   # measured 2.0-2.1
    rich = [np.max(np.abs(at(solve(**SMALL, dt=dt, richardson=True), "test_error") - at(ref, "test_error")))
            for dt in (0.2, 0.1)]
    assert rich[0] / rich[1] > 5.5, rich      # third order: 8x per halving
    assert rich[1] < errors["test_error"][1] / 10


def test_causality_symmetry_and_positivity(solve):
    r = solve(**SMALL, dt=0.05)
    Cd, Co, Rd, CA = r.order["C_d"], r.order["C_o"], r.order["R_d"], r.order["C_A"]
    n = len(r.t)
    assert np.all(np.triu(Rd) == 0) and np.all(np.triu(r.order["R_o"]) == 0) and np.all(np.triu(r.order["R_A"]) == 0)
    np.testing.assert_allclose(np.diag(Cd), 1.0, atol=1e-14)
    for X in (Cd, Co, CA):
        assert np.array_equal(X, X.T)
    # C_d(t_a, t_b) = <w(t_a), w(t_b)> is a Gram matrix over times; the m x m equal-time Gram with
    # the target direction is PSD; C_A = -R_A Sigma_C R_A^T is negative semi-definite
    eig = np.linalg.eigvalsh(Cd)
    assert eig.min() > -1e-8 * eig.max()          # measured -7e-10 (discretisation level)
    assert r.solver["min_gram_eigenvalue"] > -1e-12
    assert np.linalg.eigvalsh(CA).max() < 1e-8 * n
    # response jump R_d(t + dt, t) = 1 + O(dt), and R_o(t + dt, t) = O(dt)
    assert np.max(np.abs(np.diag(Rd, -1) - 1)) < 0.05
    assert np.max(np.abs(np.diag(r.order["R_o"], -1))) < 0.05 / 8


def test_train_error_two_ways(solve):
    """-C_A(t,t)/2 (Volterra row solve) against the operator form C_A = -R_A Sigma_C R_A^T
    evaluated by trapezoid double integrals of the stored R_A and Sigma_C rebuilt from C and a."""
    r = solve(**SMALL, dt=0.025)
    t, dt = r.t, r.t[1] - r.t[0]
    m, tau2, h = 8, 0.25, np.array([0.5, 0.5])
    a, v = r["a"], r["v"]
    hq = lambda q: h[0] * q + h[1] * q * q                                                  # noqa: E731
    phi = a * hq(v)                                                                         # a phihat(v)
    Sc = (tau2 + 1.0 - phi[:, None] - phi[None, :]
          + np.outer(a, a) * (hq(r.order["C_d"]) / m + (m - 1) / m * hq(r.order["C_o"])))
    rho = r.order["R_A"].copy()
    for i in range(len(t)):
        w = np.full(i + 1, dt)
        w[0] = w[-1] = dt / 2
        if i == 0:
            continue
        row = rho[i, : i + 1].copy()
        row[i] = rho[i, i - 1] + (rho[i, i - 1] - rho[i, i - 2]) if i > 1 else rho[i, 0]   # limit s -> t-
        e = 0.5 * (Sc[i, i] + 2 * np.sum(w * row * Sc[i, : i + 1])
                   + w @ (row[:, None] * Sc[: i + 1, : i + 1] * row[None, :]) @ w)
        if i % 20 == 0:
            assert e == pytest.approx(r["train_error"][i], abs=2e-3), (t[i], e, r["train_error"][i])


def test_long_time_scheme_converges_to_the_uniform_grid(solve):
    kw = dict(m=8, alpha=0.3, tau=0.3, t_max=40.0, dt=0.1)
    uniform = solve(**kw)
    errs = []
    for eps in (0.2, 0.1, 0.05):
        r = solve(**kw, scheme="long-time", eps=eps)
        assert r.solver["max_history_points"] < 0.6 * len(uniform.t)
        errs.append(max(np.max(np.abs(r[k] - uniform[k])) for k in ("train_error", "test_error", "a", "v")))
    assert errs[2] < errs[0] / 6 and errs[2] < 2e-4, errs


def test_divergence_stops_and_keeps_the_steps_before_it():
    model = two_layer.TwoLayer()
    p = resolve(model.parameters, dict(m=64, init="lazy", gamma0=1.0, alpha=0.5, t_max=5.0, dt=0.5), "t")
    with pytest.raises(dmft.ParameterError, match="parameter 'dt'"):
        model.check(p)
    r = model._solve(p, 0.5, Run("two-layer"))      # dt 8x beyond the stability bound of check()
    assert not r.solver["converged"] and "diverged at t=" in r.solver["status"]
    assert 1 < len(r.t) < 10 and np.all(np.isfinite(r["train_error"])) and np.all(r["train_error"] >= 0)


@pytest.mark.parametrize("given, word", [
    (dict(alpha=0.3, alpha_bar=2.0), "either parameter 'alpha'"),
    (dict(h=(0.5, -0.1)), "parameter 'h'"),
    (dict(m=2, a_init=(1.0,)), "parameter 'a_init'"),
    (dict(m=2, c_init=(1, 2, 2, 1)), "parameter 'c_init'"),
    (dict(phi=(0.5, 0.0, 0.3), h=(0.5, 0.5)), "parameter 'phi'"),
    (dict(target="noise", phi=(1.0,)), "parameter 'phi'"),
    (dict(init="lazy", gamma0=3.0, m=256, dt=0.1), "parameter 'dt'"),
    (dict(t_max=1000.0, dt=0.1), "scheme=long-time"),
])
def test_bad_input_is_rejected_before_work(given, word):
    with pytest.raises(dmft.ParameterError, match=word.replace("(", r"\(")):
        dmft.check_params("two-layer", **given)


def test_phenomena_tool_shows_the_papers_claims(tmp_path):
    """Small version of `dmft tool two-layer phenomena` (full run: m = 16, 32, 64 to 12 m, 80 s;
    numbers in docs/models/two_layer.md)."""
    import h5py
    files = dmft.tool("two-layer", "phenomena", tmp_path, widths=(16, 32), horizon=6.0, gammas=(0.3, 0.4),
                      lazy_t_max=60.0)
    assert [f.name for f in files] == ["phenomena.h5", "phenomena.png"]
    with h5py.File(tmp_path / "phenomena.h5") as f:
        low, final = f["summary/min_test_error"][()], f["summary/final_test_error"][()]
        assert low[1] < low[0] - 0.01                      # the minimum falls with m (towards tau^2/2)
        assert np.all(final > low + 0.01)                  # and the test error rises after it
        assert np.all(np.abs(f["summary/final_a_v"][()] - 1) < 0.15)   # a v -> 1
        assert np.all(f["summary/final_train_error"][()] < 0.01)
        assert np.all(np.diff(f["lazy_gap"][()]) > 0)      # lazy fixed-gamma gap grows with gamma


def test_stop_after_interpolation_says_so():
    # Fig. 4 at m = 16: e_tr -> 0 near t = 18 m; the long-time scheme's floor (~1e-5) then trips the guard
    r = dmft.solve("two-layer", m=16, alpha=0.3, tau=0.3, h=(0.9, 0.0, 1 / 6), init="mf", t_max=400.0, dt=0.2,
                   scheme="long-time", eps=0.1)
    status = r.solver["status"]
    assert "diverged at t=" in status and "interpolation" in status, status
    assert 250 < r.t[-1] < 300 and r["train_error"][-1] < 1e-4 and r["gamma"][-1] > 0.47
