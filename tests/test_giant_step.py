"""giant-step: Hermite toolkit, state evolution (exact one-step and staircase checks, quadrature
convergence, Monte Carlo consistency), parameter checks, storage and divergence."""
import math

import numpy as np
import pytest

import dmft
from dmft.model import ParameterError
from solvers import giant_step_se as se
from solvers.giant_step_hermite import (activation_coefficients, derivative_variance, make_target,
                                        parse_g_star)
from solvers.giant_step_theory import neuron_cos2, one_step_norm2, one_step_overlaps


def gh_moments(target, nodes=12):
    """E[g*], E[g*^2], C_1, C_2 by tensor Gauss-Hermite quadrature of the target function (exact
    for polynomials of degree < 2 nodes), independent of the expansion formulas."""
    G, w = se.gauss_hermite_points(nodes, target.r)
    y = target(G)
    r = target.r
    C2 = np.einsum("i,i,ij,ik->jk", w, y, G, G) - np.eye(r) * np.sum(w * y)
    return np.sum(w * y), np.sum(w * y * y), (w * y) @ G, C2


def test_activation_coefficients_closed_forms():
    c = activation_coefficients("relu", 3)
    assert c[:3] == pytest.approx([1 / math.sqrt(2 * math.pi), 0.5, 1 / math.sqrt(2 * math.pi)], abs=1e-11)
    assert c[3] == pytest.approx(0.0, abs=1e-11)
    assert derivative_variance("relu") == pytest.approx(0.25, abs=1e-11)
    # erf: E[erf'] = 2/sqrt(3 pi), E[erf'^2] = 4/(pi sqrt 5)
    assert activation_coefficients("erf", 1)[1] == pytest.approx(2 / math.sqrt(3 * math.pi), abs=1e-11)
    assert derivative_variance("erf") == pytest.approx(4 / (math.pi * math.sqrt(5)) - 4 / (3 * math.pi), abs=1e-11)
    assert activation_coefficients("tanh", 2)[[0, 2]] == pytest.approx([0, 0], abs=1e-11)   # odd


@pytest.mark.parametrize("name", ["z1+z1z2", "he2", "notebook", "staircase-1", "staircase-2"])
def test_target_tensors_against_quadrature(name):
    t = make_target(name)
    mean, second, C1, C2 = gh_moments(t)
    assert t.mean == pytest.approx(mean, abs=1e-12)
    assert t.second_moment == pytest.approx(second, abs=1e-12)
    assert np.allclose(t.C1(), C1, atol=1e-12) and np.allclose(t.C2(), C2, atol=1e-12)


def test_notebook_target_and_diagnostics():
    t = make_target("notebook")
    assert t.mean == 0 and t.second_moment == pytest.approx(0.5 * (1 + 0.5 + 1 / 24), abs=1e-15)
    assert np.allclose(t.C1(), [0.5, 0.5]) and np.allclose(t.C2(), 0.5 * np.eye(2))
    assert (make_target("z1+z1z2").information_exponent(), make_target("z1+z1z2").leap()) == (1, 1)
    assert (make_target("he2").information_exponent(), make_target("he2").leap()) == (2, 2)
    assert parse_g_star("1:0,2;1:1,1").leap() == 2          # He2(z2) + z1 z2: no linear start
    assert parse_g_star("1:1,0,0;1:1,1,0;1:0,1,1").leap() == 1   # z1 + z1z2 + z2z3: staircase
    x = np.array([[0.3, -1.2]])
    assert make_target("staircase-2")(x)[0] == pytest.approx((0.3 + 0.09 - 1.2 - 1.44) / 2)


@pytest.mark.parametrize("bad", ["", "1:1;1:1,1", "x:1", "1:-1", "1"])
def test_bad_g_star(bad):
    with pytest.raises(ParameterError, match="g_star"):
        dmft.check_params("giant-step", target="hermite", g_star=bad)


@pytest.mark.parametrize("given, match", [
    (dict(p=7), "'p' must be even"),
    (dict(alpha=0), "'alpha'"),
    (dict(activation="gelu"), "'activation'"),
    (dict(target="z1"), "'target'"),
    (dict(g_star="1:1"), "only read with target=hermite"),
    (dict(quadrature=10), "quadrature"),
    (dict(samples=10, batches=8), "'samples'"),
    (dict(init="zero"), "'init'"),
])
def test_parameter_checks(given, match):
    with pytest.raises(ParameterError, match=match):
        dmft.check_params("giant-step", **given)


def test_numba_kernel_matches_numpy_reference():
    rng = np.random.default_rng(1)
    t = make_target("z1+z1z2")
    p, r = 4, 2
    M, Q = 0.3 * rng.standard_normal((p, r)), np.eye(p) + 0.1
    F, _ = se.gaussian_factor(se.overlap_matrix(M, Q))
    G, w = rng.standard_normal((20000, r + p)), np.full(20000, 1 / 20000)
    a = np.array([1.0, -1.0, 0.5, 2.0]) / 2
    for code in (0, 1, 2):
        fast = se.expectations(G, w, F, r, a, code, t.coefs, t.degrees)
        ref = se.expectations_numpy(G, w, F, r, a, code, t.coefs, t.degrees)
        for x, y in zip(fast, ref):
            assert np.allclose(x, y, rtol=1e-11, atol=1e-13)


def test_one_step_exact_against_closed_form():
    """erf student, g* = He1 + He2/sqrt2 (E g* = 0), one pair: Gauss-Hermite quadrature is
    spectrally accurate, so the state evolution's first step equals section 4.1 to 1e-10."""
    g_star = f"1:1;{1 / math.sqrt(2)!r}:2"
    t = parse_g_star(g_star)
    for alpha, eta in ((0.5, 2.0), (4.0, 1.0)):
        r = dmft.solve("giant-step", p=2, alpha=alpha, eta=eta, steps=1, activation="erf",
                       target="hermite", g_star=g_star, quadrature=24)
        a = np.array([1, -1]) / math.sqrt(2)
        assert np.allclose(r["M"][1], one_step_overlaps(t, "erf", eta, a), atol=1e-10)
        assert np.allclose(np.diag(r["Q"][1]), one_step_norm2(t, "erf", eta, alpha), atol=1e-10)
        cos2 = r["M"][1, 0, 0] ** 2 / r["Q"][1, 0, 0]           # v* = z1 direction (r = 1)
        assert cos2 == pytest.approx(neuron_cos2(t, "erf", eta, alpha), abs=1e-8)
        assert r["risk"][0] == pytest.approx(t.second_moment, abs=1e-10)
        assert r.solver["method"] == "state-evolution (gauss-hermite)" and r.stderr("risk") is None


def test_one_step_relu_monte_carlo_across_alpha():
    """The worked example of section 4.1 (ReLU, eta 2, g* = z1 + z2/2 + He2(z1)/sqrt2, one pair):
    per-neuron cos^2 of the Monte Carlo state-evolution step (8 replicas of 25000 points) against
    the closed form within 4 standard errors; the learned direction is v* (M_j2/M_j1 = 0.5)."""
    t = parse_g_star(f"1:1,0;0.5:0,1;{1 / math.sqrt(2)!r}:2,0")
    v = t.C1() / np.linalg.norm(t.C1())
    a = np.array([1, -1]) / math.sqrt(2)
    M0, Q0 = np.zeros((2, 2)), np.ones((2, 2))
    for alpha in (0.5, 2.0, 8.0):
        cos2, ratio = [], []
        for k in range(8):
            G = dmft.sampling.replica_generator(0, k).standard_normal((25000, 4))
            M, Q, _, _ = se.step(M0, Q0, G, np.full(25000, 1 / 25000), a, 2.0, alpha, 0, t)
            cos2.append((M[0] @ v) ** 2 / Q[0, 0])
            ratio.append(M[0, 1] / M[0, 0])
        stderr = np.std(cos2, ddof=1) / math.sqrt(8)
        assert abs(np.mean(cos2) - neuron_cos2(t, "relu", 2.0, alpha)) < 4 * stderr
        assert np.mean(ratio) == pytest.approx(0.5, rel=0.02)
    # negative control: the closed form at the wrong alpha is rejected
    assert abs(np.mean(cos2) - neuron_cos2(t, "relu", 2.0, 4.0)) > 10 * stderr


def test_staircase_and_information_exponent_exact():
    """Quadrature (exact for these polynomial-times-ReLU moments up to the kink): z1 + z1 z2 has
    M_.2 = 0 after step 1 and growing after; he2 keeps M = 0 at every step."""
    r = dmft.solve("giant-step", p=2, steps=3, target="z1+z1z2", quadrature=16)
    assert np.max(np.abs(r["M"][:2, :, 1])) < 1e-12
    assert np.all(r["overlap_2"][2:] > 0.05) and r["overlap_2"][3] > r["overlap_2"][2]
    assert np.all(np.diff(r["risk"]) < 0)
    h = dmft.solve("giant-step", p=2, steps=3, target="he2", quadrature=16)
    assert np.max(np.abs(h["M"])) < 1e-12 and np.all(h["q_diag"][1:] > 1)


def test_quadrature_converges_and_monte_carlo_agrees():
    """erf, two steps of z1 + z1 z2 with p = 2 (r + p = 4): the Gauss-Hermite state evolution
    converges as the nodes grow (measured error of Q_2 against 30 nodes: 0.11, 0.020, 0.0076,
    0.0023 at 6, 10, 14, 20 nodes; erf(lambda) is analytic but grows like exp(x^2) off the real axis,
    so the convergence is slower than geometric), and the Monte Carlo solve agrees with it within
    4.5 standard errors; a wrong eta (1.05) is rejected."""
    kw = dict(p=2, steps=2, activation="erf", target="hermite", g_star="1:1,0;1:1,1")
    ref = dmft.solve("giant-step", quadrature=30, **kw)
    err = {n: np.abs(dmft.solve("giant-step", quadrature=n, **kw)["Q"][-1] - ref["Q"][-1]).max()
           for n in (10, 20)}
    assert err[20] < err[10] / 5 and err[20] < 5e-3
    mc = dmft.solve("giant-step", samples=400000, batches=8, **kw)
    for name in ("risk", "q_diag", "m_signed_1", "m_2", "q_twin"):
        assert abs(mc[name][-1] - ref[name][-1]) < 4.5 * mc.stderr(name)[-1], name
    wrong = dmft.solve("giant-step", quadrature=20, **{**kw, "eta": 1.05})
    assert abs(mc["q_diag"][-1] - wrong["q_diag"][-1]) > 10 * mc.stderr("q_diag")[-1]


def test_reproducible_save_load(tmp_path):
    kw = dict(p=4, steps=2, samples=20000, batches=4, seed=3)
    a, b = dmft.solve("giant-step", **kw), dmft.solve("giant-step", **kw)
    assert np.array_equal(a["M"], b["M"]) and np.array_equal(a["risk"], b["risk"])
    assert not np.array_equal(a["M"], dmft.solve("giant-step", **{**kw, "seed": 4})["M"])
    a.save(tmp_path / "gs.h5")
    c = dmft.load(tmp_path / "gs.h5")
    assert c.seed == 3 and c["M"].shape == (3, 4, 2) and c["Q"].shape == (3, 4, 4)
    assert np.array_equal(c["Q"], a["Q"]) and np.array_equal(c.stderr("q_diag"), a.stderr("q_diag"))


def test_divergence_keeps_finite_steps():
    r = dmft.solve("giant-step", p=2, steps=6, eta=1e40, quadrature=6)
    assert not r.solver["converged"] and "diverged" in r.solver["status"]
    assert 1 <= len(r.t) < 7 and np.all(np.isfinite(r["Q"]))
