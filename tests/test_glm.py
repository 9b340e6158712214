"""The sampled GLM DMFT: against the deterministic square-loss DMFT, closed forms and direct
simulation, with its own Monte Carlo error bars."""
import numpy as np
import pytest

import dmft
from dmft.twotime import Correlation, Response
from solvers import marchenko_pastur as mp
from validation.compare import compare

SMALL = dict(dt=0.2, t_max=2.0, batches=8)
NAMES = ("train_error", "test_error", "m", "q")


def max_z(result, reference, names=NAMES):
    """max over names and t > 0 of |result - reference| / stderr(result)."""
    return max(np.max(np.abs(result[k][1:] - reference[k][1:]) / result.stderr(k)[1:]) for k in names)


@pytest.fixture(scope="module")
def square():
    return dmft.solve("glm", loss="square", teacher="linear", sigma2=0.25, alpha=2, ridge=0.05,
                      samples=16000, **SMALL)


def test_square_loss_agrees_with_deterministic_solver(square):
    exact = dmft.solve("linear-regression", alpha=2, sigma2=0.25, ridge=0.05, method="gd", dt=0.2, t_max=2.0)
    # Anderson mixes iterates with affine (possibly negative) weights, so the mixed C_g can have
    # tiny negative eigenvalues; they are clipped and reported (8e-7 here)
    assert square.solver["converged"] and square.solver["clipped_fraction"] < 1e-4
    assert max_z(square, exact) < 4
    tol = square.params["tol"]                        # R, Gamma are deterministic for the square
    for name in ("C", "R", "C_g", "Gamma"):           # loss: they differ only by the tolerance
        deviation = np.abs(square.order[name] - exact.order[name])
        assert np.all(deviation <= 5 * square.order[name + "_stderr"] + tol), name


def test_monte_carlo_error_shrinks_like_inverse_sqrt_samples():
    stderr = {}
    for samples in (4000, 16000):
        r = dmft.solve("glm", loss="square", teacher="linear", sigma2=0.25, alpha=2,
                       samples=samples, **{**SMALL, "batches": 16})
        stderr[samples] = np.mean([np.mean(r.stderr(k)[1:]) for k in NAMES])
    assert stderr[4000] / stderr[16000] == pytest.approx(2.0, rel=0.3)


def test_structure_of_sampled_order_parameters(square):
    assert Response(data=square.order["R"]).causality_violation() == 0.0
    assert Response(data=square.order["R"]).jump_error() < 1e-12
    assert Correlation(data=square.order["C"]).asymmetry() < 1e-12
    assert Correlation(data=square.order["C_g"]).min_eigenvalue() > -1e-10


def test_warm_start_matches_closed_form():
    """m0 and q0 (w(0) = m0 w* + w_perp): the sampled solver against the MP closed form."""
    p = dict(alpha=3.0, ridge=0.5 / 3, dt=0.3, t_max=3.0, m0=0.2, q0=1.0)
    r = dmft.solve("glm", loss="square", teacher="linear", sigma2=0.0, samples=16000, batches=8, **p)
    exact = mp.errors(3.0, 0.0, p["ridge"], 1.0, 1.0, r.t, "gd", 0.3, m0=0.2)
    assert r["m"][0] == pytest.approx(0.2) and r["q"][0] == pytest.approx(0.2**2 + 1.0)
    assert max_z(r, exact) < 4


def test_common_random_numbers_make_runs_reproducible():
    a = dmft.solve("glm", samples=2000, batches=4, **{k: v for k, v in SMALL.items() if k != "batches"})
    b = dmft.solve("glm", samples=2000, batches=4, **{k: v for k, v in SMALL.items() if k != "batches"})
    c = dmft.solve("glm", samples=2000, batches=4, seed=1, **{k: v for k, v in SMALL.items() if k != "batches"})
    for name in a.observables:
        assert np.array_equal(a[name], b[name])
    assert not np.array_equal(a["m"], c["m"])


CLASSIFIERS = dict(teacher="sign", alpha=2.0, ridge=0.1, dt=0.2, t_max=5.0)


@pytest.mark.parametrize("loss", ["logistic", "hinge"])
def test_agrees_with_simulation_at_d_2000(loss):
    theory = dmft.solve("glm", loss=loss, samples=40000, **CLASSIFIERS)
    assert theory.solver["converged"]
    sim = dmft.simulate("glm", loss=loss, d=2000, seeds=6, **CLASSIFIERS)
    v = compare(theory, [sim])
    assert v.passed, v.summary["observables"]


def test_naive_hinge_tangent_is_detected_as_wrong():
    """Without the smoothed kink (l'' = 0 almost everywhere) the DMFT misses the margin's
    contribution to the memory kernel; the comparison with simulation catches it."""
    theory = dmft.solve("glm", loss="hinge", samples=40000, kink_width=1e-6, max_iter=25, **CLASSIFIERS)
    sim = dmft.simulate("glm", loss="hinge", d=2000, seeds=6, **CLASSIFIERS)
    assert not compare(theory, [sim]).passed


def test_non_convergence_keeps_last_iterate():
    r = dmft.solve("glm", samples=2000, batches=4, max_iter=2, accel="none", dt=0.2, t_max=2.0)
    assert r.solver["converged"] is False and r.solver["iterations"] == 2
    assert "not converged after 2 sweeps" in r.solver["status"]
    assert len(r.t) == 11 and np.all(np.isfinite(r["m"]))


def test_divergence_stops_with_a_message():
    r = dmft.solve("glm", loss="square", teacher="linear", alpha=2, ridge=10.0, dt=5.0, t_max=500.0,
                   samples=400, batches=2, accel="none", max_iter=50)
    assert r.solver["converged"] is False and "diverged at sweep" in r.solver["status"]
    for x in list(r.observables.values()) + list(r.order.values()):
        assert np.all(np.isfinite(x))


def test_anderson_and_plain_damping_reach_the_same_fixed_point():
    runs = {accel: dmft.solve("glm", samples=8000, accel=accel, tol=1e-8, **CLASSIFIERS)
            for accel in ("none", "anderson")}
    for accel, r in runs.items():
        assert r.solver["converged"], accel
    for name in NAMES:
        np.testing.assert_allclose(runs["anderson"][name], runs["none"][name], atol=1e-6)
    assert runs["anderson"].solver["iterations"] < runs["none"].solver["iterations"]


def test_bad_combinations_rejected_before_work():
    with pytest.raises(dmft.ParameterError, match="teacher=sign"):
        dmft.solve("glm", loss="logistic", teacher="linear")
    with pytest.raises(dmft.ParameterError, match="'samples' must be >= 2 \\* batches"):
        dmft.solve("glm", samples=10, batches=8)
    with pytest.raises(dmft.ParameterError, match="'flip' must be"):
        dmft.solve("glm", flip=0.7)
