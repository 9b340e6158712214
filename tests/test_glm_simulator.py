"""The finite-d GLM simulator (validation/glm.py): consistency with the linear-regression
simulator, initialisation, qualitative behaviour of logistic and hinge GD, reproducibility
and the gradient against finite differences."""
import numpy as np
import pytest

import dmft
from dmft.run import Run
from dmft.simulation import generator
from validation import glm
from validation.glm import GLMSimulator


def params(**given):
    p = dict(alpha=2.0, ridge=0.1, rho=1.0, loss="logistic", teacher="sign", sigma2=0.0,
             flip=0.0, t_max=2.0, dt=0.2, method="gd", m0=0.0, q0=0.0,
             # present in real parameter sets, ignored by the simulator
             samples=1000, damping=0.5, tol=1e-6, max_iter=100, accel="none", batches=1, seed=0)
    p.update(given)
    return p


def simulate(d=200, seeds=4, seed=0, **given):
    return GLMSimulator().simulate(params(**given), d, seeds, seed, Run("k"))


def test_square_linear_matches_linear_regression_simulator():
    lr = dict(alpha=1.5, sigma2=0.3, ridge=0.05, rho=1.2, t_max=3.0, dt=0.2)
    d, seeds = 200, 8
    ours = simulate(d=d, seeds=seeds, seed=3, loss="square", teacher="linear", method="gd", **lr)
    theirs = dmft.simulate("linear-regression", d=d, seeds=seeds, seed=11, method="gd", **lr)
    assert np.allclose(ours.t, theirs.t)
    for name in ("train_error", "test_error", "m", "q"):
        se = np.sqrt(ours.stderr(name) ** 2 + theirs.stderr(name) ** 2)
        assert np.all(np.abs(ours[name] - theirs[name]) <= 4 * se + 1e-12), name
    # exact identity of the square loss: loss = (h - y)^2 / 2, MSE not halved
    per = ours.simulation["per_seed"]
    assert np.allclose(per["train_loss"], per["train_error"] / 2, rtol=1e-13, atol=0)
    # the draw order (X, w*, eps, ...) is that of linear-regression: same seed, same systems
    same = dmft.simulate("linear-regression", d=d, seeds=seeds, seed=3, method="gd", **lr)
    for name in ("train_error", "test_error", "m", "q"):
        assert np.allclose(ours.simulation["per_seed"][name], same.simulation["per_seed"][name],
                           rtol=1e-9, atol=1e-12), name


@pytest.mark.parametrize("m0,q0", [(0.0, 0.0), (0.5, 0.0), (0.0, 0.7), (-0.3, 0.4), (1.2, 2.0)])
def test_initialisation(m0, q0):
    rho = 1.7
    r = simulate(d=150, seeds=3, t_max=0.4, m0=m0, q0=q0, rho=rho)
    per = r.simulation["per_seed"]
    assert np.all(np.abs(per["m"][:, 0] - m0 * rho) < 1e-12)
    assert np.all(np.abs(per["q"][:, 0] - (m0**2 * rho + q0)) < 1e-12)
    assert r.t[0] == 0 and r.solver["iterations"] == len(r.t) - 1 == 2


def test_logistic_sign_teacher():
    base = dict(loss="logistic", teacher="sign", alpha=2.0, ridge=0.1, dt=0.05, t_max=8.0)
    r = simulate(d=200, seeds=4, **base)
    assert r.solver["method"] == "gd-iteration" and r.simulation["n"] == 400
    per = r.simulation["per_seed"]
    # GD with a small step decreases the regularised objective along every trajectory ...
    objective = per["train_loss"] + 0.5 * base["ridge"] * per["q"]
    assert np.all(np.diff(objective, axis=1) < 0)
    # ... and here the train loss itself along the mean trajectory
    assert np.all(np.diff(r["train_loss"]) < 0)
    assert r["train_loss"][0] == pytest.approx(np.log(2))
    assert r["train_error"][0] == 1.0 and r["test_error"][0] == 0.5  # y h = 0 at w = 0
    assert r["train_error"][-1] < r["test_error"][-1]
    assert r["m"][-1] > 0 and r["test_error"][-1] < 0.3
    noisy = simulate(d=200, seeds=4, flip=0.2, **base)
    assert np.all(noisy["test_error"] >= 0.2 - 1e-12)
    assert noisy["test_error"][-1] > 0.2 and noisy["train_error"][-1] > r["train_error"][-1]
    # the test error is the exact population error of the recorded (m, q)
    m, q = per["m"][:, 1:], per["q"][:, 1:]
    e0 = np.arccos(np.clip(m / np.sqrt(q * 1.0), -1, 1)) / np.pi
    assert np.allclose(per["test_error"][:, 1:], e0, rtol=0, atol=1e-14)
    noisy_per = noisy.simulation["per_seed"]
    flipped = glm.classification_error(noisy_per["m"], noisy_per["q"], 1.0, 0.2)
    assert np.allclose(noisy_per["test_error"], flipped, rtol=0, atol=1e-14)
    assert np.all(flipped[:, 0] == 0.5)  # q = 0: e0 = 1/2, and 1/2 + flip (1 - 1) = 1/2


def test_hinge_separable_reaches_zero_train_error():
    r = simulate(d=200, seeds=3, loss="hinge", teacher="sign", alpha=0.5, ridge=0.0, flip=0.0,
                 dt=0.2, t_max=60.0)
    per = r.simulation["per_seed"]
    assert np.all(per["train_error"][:, 0] == 1.0)
    assert np.all(per["train_error"][:, -1] == 0.0)
    # once every margin is >= 1 the subgradient vanishes and w stops
    assert np.all(per["train_loss"][:, -1] == 0.0)
    assert np.all(per["q"][:, -1] == per["q"][:, -2])


def test_gf_is_the_same_euler_iteration():
    gd = simulate(method="gd", loss="hinge", teacher="sign", flip=0.1)
    gf = simulate(method="gf", loss="hinge", teacher="sign", flip=0.1)
    assert gf.solver["method"] == "euler-iteration"
    for name in glm.OBSERVABLES:
        assert np.array_equal(gd[name], gf[name])


def test_reproducible():
    kw = dict(loss="logistic", teacher="sign", flip=0.1, q0=0.3, m0=0.2)
    a, b, c = simulate(seed=5, **kw), simulate(seed=5, **kw), simulate(seed=6, **kw)
    for name in glm.OBSERVABLES:
        assert np.array_equal(a.simulation["per_seed"][name], b.simulation["per_seed"][name])
        assert np.array_equal(a[name], b[name]) and np.array_equal(a.stderr(name), b.stderr(name))
    assert not np.array_equal(a["train_loss"], c["train_loss"])
    assert not np.array_equal(a["m"][1:], c["m"][1:])


def test_linear_teacher_test_error():
    r = simulate(loss="logistic", teacher="linear", sigma2=0.4, m0=0.5, q0=0.3, rho=1.1)
    per = r.simulation["per_seed"]
    # |w - w*|^2 + sigma2 = q - 2 m + rho + sigma2
    assert np.allclose(per["test_error"], per["q"] - 2 * per["m"] + 1.1 + 0.4, rtol=1e-12)
    assert per["test_error"][0, 0] == pytest.approx(0.25 * 1.1 + 0.3 + 0.4, abs=1e-12)


@pytest.mark.parametrize("loss", ["square", "logistic", "hinge"])
def test_gradient_matches_finite_differences(loss):
    rng = generator(0, 40, 0)
    n, d, ridge = 60, 40, 0.3
    X = rng.standard_normal((n, d))
    y = np.where(rng.standard_normal(n) > 0, 1.0, -1.0)
    w = rng.standard_normal(d) / np.sqrt(d)
    if loss == "hinge":  # keep every margin away from the kink at y h = 1
        margins = y * (X @ w)
        assert np.min(np.abs(margins - 1)) > 1e-3
    _, grad = glm.objective(w, X, y, loss, ridge)
    eps = 1e-6
    fd = np.empty(d)
    for j in range(d):
        e = np.zeros(d)
        e[j] = eps
        fd[j] = (glm.objective(w + e, X, y, loss, ridge)[0]
                 - glm.objective(w - e, X, y, loss, ridge)[0]) / (2 * eps)
    assert np.max(np.abs(grad - fd)) < 1e-7 * max(1.0, np.max(np.abs(grad)))


def test_step_is_the_objective_gradient():
    """One recorded GD step equals w(0) - dt grad L(w(0)) of the helper (per realisation)."""
    p = params(loss="logistic", teacher="sign", flip=0.1, m0=0.3, q0=0.5, t_max=0.2)
    d = 120
    n, X, y, w_star, w0 = glm.realisation(p, d, generator(0, d, 0))
    _, grad = glm.objective(w0, X, y, "logistic", p["ridge"])
    w1 = w0 - p["dt"] * grad
    r = GLMSimulator().simulate(p, d, 2, 0, Run("k"))
    per = r.simulation["per_seed"]
    assert per["m"][0, 1] == pytest.approx(w1 @ w_star, abs=1e-12)
    assert per["q"][0, 1] == pytest.approx(w1 @ w1, abs=1e-12)
