"""giant-step finite-d simulator and protocols: validation against the state evolution (with a
negative control), no learning at information exponent 2, the staircase's O(d^-1/2) zero,
specialisation at n = d^2, the spike overlap across alpha, the ridge readout and the tools.
The published readout point (0.336 +- 0.006, ~35 s per repetition) is measured by benchmarks/bench_giant_step.py."""
import math

import h5py
import numpy as np
import pytest

import dmft
from dmft.run import Run
from solvers.giant_step import second_layer
from solvers.giant_step_hermite import parse_g_star
from solvers.giant_step_network import first_layer, forward, gradient, ridge_readout, teacher
from solvers.giant_step_theory import specialisation, spike_cos2
from validation.compare import compare
from validation.giant_step import GiantStepSimulator

CASE = dict(p=4, alpha=2.0, steps=3, eta=1.0, target="z1+z1z2", samples=200000)


def simulate(d, seeds=8, **given):
    p = dmft.check_params("giant-step", **{**CASE, **given})
    return GiantStepSimulator().simulate(p, d, seeds, 0, Run("k"))


def test_validate_staircase_passes_and_wrong_eta_fails():
    v = dmft.validate("giant-step", sizes=(300, 1200), seeds=8, **CASE)
    assert v.passed, v.summary
    assert {"risk", "m_2", "m_signed_1", "q_diag", "q_twin", "q_cross"} <= set(v.observables)
    wrong = dmft.solve("giant-step", **{**CASE, "eta": 1.2})
    assert not compare(wrong, v.simulations).passed


def test_simulation_reproducible_and_zero_overlap_shrinks():
    a, b = simulate(200, seeds=3), simulate(200, seeds=3)
    assert np.array_equal(a.simulation["per_seed"]["q_diag"], b.simulation["per_seed"]["q_diag"])
    assert a.order["overlap"].shape == (4, 2) and a.simulation["n"] == 400
    # z1 + z1z2: second direction after step 1 is O(d^-1/2) (theory: 0), first is O(1)
    small, large = simulate(250, seeds=6), simulate(1000, seeds=6)
    ratio = large.order["overlap"][1, 1] / small.order["overlap"][1, 1]
    assert 0.35 < ratio < 0.7                                    # d^-1/2: 0.5
    assert large.order["overlap"][1, 0] > 0.4 and large.order["overlap"][1, 1] < 2 / math.sqrt(1000)
    # where the limit is nonzero, |M| agrees with the state evolution (bias exponentially small)
    theory = dmft.solve("giant-step", **CASE)
    for t in (1, 2, 3):
        diff = abs(large.order["overlap"][t, 0] - theory["overlap_1"][t])
        assert diff < 5 * math.hypot(large.order["overlap_stderr"][t, 0], theory.stderr("overlap_1")[t])


def test_information_exponent_two_not_learned():
    """he2 at n = 2d: state evolution M = 0; simulated overlaps O(d^-1/2), shrinking with d."""
    small, large = simulate(250, seeds=4, target="he2"), simulate(1000, seeds=4, target="he2")
    assert np.max(large.order["overlap"]) < 2.5 / math.sqrt(1000)
    assert 0.35 < np.max(large.order["overlap"]) / np.max(small.order["overlap"]) < 0.7


def test_specialisation_at_d_squared():
    """Section 4.2: d = 100, p = 400, g* = [He2(z1) + He2(z2)/2]/sqrt2, eta_full = p sqrt(n/d):
    the simulated W* Delta w_j against the rule eta_full a_j c_2 C_2 m_j / sqrt(p).  Median
    cosine > 0.95 at n = d^2 (0.96 and 0.985 measured on two batches), > 0.99 at n = d^2.3, median
    norm ratio within 15%; at n = d (negative control) the update is noise: median cosine < 0.7."""
    target = parse_g_star(f"{1 / math.sqrt(2)!r}:2,0;{0.5 / math.sqrt(2)!r}:0,2")
    d, p = 100, 400
    rng = np.random.default_rng(0)
    Wstar = teacher(rng, d, 2)
    W0 = first_layer(rng, d, p, "symmetric")
    a = second_layer(p, "symmetric")
    medians = {}
    for n in (d, d * d, int(d**2.3)):
        X = rng.standard_normal((n, d))
        f, ds = forward(W0, a, X, 0)
        eta = p * math.sqrt(n / d)
        sim = (eta * gradient(a, X, target(X @ Wstar.T) - f, ds)) @ Wstar.T
        rule = specialisation(target, "relu", eta, a, W0 @ Wstar.T, 2)
        cos = np.sum(sim * rule, axis=1) / np.linalg.norm(sim, axis=1) / np.linalg.norm(rule, axis=1)
        medians[n] = (np.median(cos), np.median(np.linalg.norm(sim, axis=1) / np.linalg.norm(rule, axis=1)))
    assert medians[d * d][0] > 0.95 and abs(medians[d * d][1] - 1) < 0.15
    assert medians[int(d**2.3)][0] > 0.99 and abs(medians[int(d**2.3)][1] - 1) < 0.1
    assert medians[d][0] < 0.7


def test_spike_overlap_across_alpha():
    """cos^2(beta_hat, beta*) at d = 1000 (mean of 4 batches) against |C1|^2 / (|C1|^2 + E[y^2]/alpha)
    within 0.03 (one batch fluctuates by ~0.03)."""
    target = parse_g_star(f"1:1,0;0.5:0,1;{1 / math.sqrt(2)!r}:2,0")
    d = 1000
    rng = np.random.default_rng(1)
    Wstar = teacher(rng, d, 2)
    beta = Wstar.T @ target.C1()
    for alpha in (0.5, 1, 2, 4, 8):
        cos2 = []
        for _ in range(4):
            X = rng.standard_normal((int(alpha * d), d))
            b = X.T @ target(X @ Wstar.T) / X.shape[0]
            cos2.append((b @ beta) ** 2 / (b @ b) / (beta @ beta))
        assert np.mean(cos2) == pytest.approx(spike_cos2(target, alpha), abs=0.03)
    assert spike_cos2(target, 1.0) == pytest.approx(0.357, abs=5e-4)


def test_ridge_primal_equals_dual():
    rng = np.random.default_rng(2)
    Phi, y = rng.standard_normal((30, 20)), rng.standard_normal(30)
    primal = ridge_readout(Phi, y, 0.7)
    dual = Phi.T @ np.linalg.solve(Phi @ Phi.T / 20 + 0.7 * np.eye(30), y) / math.sqrt(20)
    assert np.allclose(primal, dual, atol=1e-12)
    assert np.allclose(ridge_readout(Phi[:10], y[:10], 0.7),
                       np.linalg.solve(Phi[:10].T @ Phi[:10] / 20 + 0.7 * np.eye(20), Phi[:10].T @ y[:10]
                                       / math.sqrt(20)), atol=1e-12)


def test_batch_sweep_tool(tmp_path):
    paths = dmft.tool("giant-step", "batch-sweep", tmp_path, d=32, p=16, exponents=(1.0, 1.5), steps=2,
                      reps=1, n_test=500)
    assert [p.name for p in paths] == ["batch_sweep.h5", "batch_sweep.png"]
    with h5py.File(paths[0]) as f:
        assert f["test_error"].shape == (2, 1, 2) and f.attrs["tool"] == "batch-sweep"
        assert float(f["trivial_error"][()]) == pytest.approx(0.5 * (1 + 0.5 + 1 / 24))
    with pytest.raises(dmft.ParameterError, match="exponents"):
        dmft.tool("giant-step", "batch-sweep", tmp_path, exponents=(-1.0,))
