"""Anderson acceleration of the fixed-point driver (dmft.fixedpoint.iterate, accel="anderson")."""
import numpy as np
import pytest

import dmft
from dmft.fixedpoint import iterate
from dmft.grid import UniformGrid
from dmft.run import Run


def _contraction(kind, n=20, radius=0.95, seed=0):
    """A (n x n) with spectral radius ``radius``: symmetric with spectrum in [0, radius]
    (I - A has condition number <= 1 / (1 - radius)), or a scaled Gaussian matrix."""
    rng = np.random.default_rng(seed)
    if kind == "symmetric":
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        lam = rng.uniform(0.0, radius, n)
        lam[0] = radius
        a = q @ np.diag(lam) @ q.T
    else:
        a = rng.standard_normal((n, n))
        a *= radius / np.max(np.abs(np.linalg.eigvals(a)))
    return a, rng.standard_normal(n)


# sweeps to tol=1e-12 (seed 0): plain ~510; Anderson m=10 ~50, m=5 (default) ~100-120
@pytest.mark.parametrize("kind, memory, speedup", [("symmetric", 10, 5), ("nonsymmetric", 10, 5),
                                                   ("symmetric", 5, 3), ("nonsymmetric", 5, 3)])
def test_linear_contraction_is_accelerated(kind, memory, speedup):
    a, rhs = _contraction(kind)
    np.testing.assert_allclose(np.max(np.abs(np.linalg.eigvals(a))), 0.95)
    exact = np.linalg.solve(np.eye(len(rhs)) - a, rhs)
    update = lambda x: {"x": a @ x["x"] + rhs}  # noqa: E731
    tol = 1e-12
    plain = iterate(update, {"x": np.zeros(len(rhs))}, Run("k"), tol=tol, max_iter=5000)
    fast = iterate(update, {"x": np.zeros(len(rhs))}, Run("k"), tol=tol, max_iter=5000,
                   accel="anderson", memory=memory)
    counts = f"plain {plain.iterations} sweeps, anderson(m={memory}) {fast.iterations} sweeps"
    print(f"\n{kind}: {counts}, anderson restarts {fast.restarts}")
    for out in (plain, fast):
        assert out.converged and not out.diverged, counts
        assert out.residuals[-1] < tol
        # |x - x*| <= |(I - A)^-1| |f| with |(I - A)^-1| ~ 1 / (1 - 0.95) = 20
        np.testing.assert_allclose(out.x["x"], exact, rtol=0, atol=100 * tol, err_msg=counts)
    assert plain.iterations > 300, counts
    assert speedup * fast.iterations < plain.iterations, counts


def test_nonlinear_fixed_point_same_solution_fewer_sweeps():
    rng = np.random.default_rng(1)
    n = 30
    w = rng.standard_normal((n, n))
    w *= 1.8 / np.linalg.norm(w, 2)       # 0.5 tanh(W x): Lipschitz constant 0.9
    c = rng.standard_normal(n)

    def update(x):  # two coupled arrays of different shapes
        return {"x": 0.5 * np.tanh(w @ x["x"]) + c + 0.05 * x["y"].sum(),
                "y": 0.5 * np.cos(x["x"][:6]).reshape(2, 3) + 0.1 * x["y"]}

    x0 = {"x": np.zeros(n), "y": np.zeros((2, 3))}
    plain = iterate(update, x0, Run("k"), damping=0.3, tol=1e-12, max_iter=2000)
    fast = iterate(update, x0, Run("k"), damping=0.3, tol=1e-12, max_iter=2000, accel="anderson")
    counts = f"plain {plain.iterations} sweeps, anderson {fast.iterations} sweeps"
    print(f"\nnonlinear: {counts}, anderson restarts {fast.restarts}")
    assert plain.converged and fast.converged, counts
    for k in x0:
        assert fast.x[k].shape == x0[k].shape
        np.testing.assert_allclose(fast.x[k], plain.x[k], rtol=0, atol=1e-11, err_msg=k)
        new = update(fast.x)[k]
        np.testing.assert_allclose(new, fast.x[k], rtol=0, atol=1e-11, err_msg=k)
    assert fast.iterations < plain.iterations, counts
    assert x0["x"].sum() == 0  # the initial iterate is not modified


def test_linear_regression_fixed_point_scheme():
    from solvers.linear_regression import _Problem

    p = dmft.check_params("linear-regression", method="gd", dt=0.2, t_max=6)
    outs = {}
    for accel in ("none", "anderson"):
        prob = _Problem(p, UniformGrid.up_to(6, 0.2))
        outs[accel] = iterate(prob.sweep, prob.initial_iterate(), Run("k"), tol=1e-12, max_iter=200,
                              accel=accel)
    plain, fast = outs["none"], outs["anderson"]
    counts = f"plain {plain.iterations} sweeps, anderson {fast.iterations} sweeps"
    print(f"\nlinear-regression (31 points): {counts}, anderson restarts {fast.restarts}")
    assert plain.converged and fast.converged, counts
    assert plain.x.keys() == fast.x.keys() == {"Gamma", "C_g", "b"}
    for k in plain.x:
        np.testing.assert_allclose(fast.x[k], plain.x[k], rtol=0, atol=1e-10, err_msg=k)


def _reference(update, x0, damping, tol, max_iter):
    """The plain damped iteration as specified: x <- theta x + (1 - theta) G(x), theta = 0 first."""
    x = {k: np.array(v, dtype=float) for k, v in x0.items()}
    residuals = []
    for k in range(max_iter):
        new = update(x)
        residuals.append(float(sum(np.max(np.abs(new[n] - x[n]), initial=0.0) for n in x)))
        theta = damping if k > 0 else 0.0
        x = {n: theta * x[n] + (1.0 - theta) * new[n] for n in x}
        if residuals[-1] < tol:
            return x, k + 1, residuals, True
    return x, max_iter, residuals, False


@pytest.mark.parametrize("damping, max_iter", [(0.0, 500), (0.3, 500), (0.7, 500), (0.3, 7)])
def test_plain_iteration_is_bit_identical(damping, max_iter):
    rng = np.random.default_rng(2)
    w = rng.standard_normal((8, 8)) / 4

    def update(x):
        return {"a": np.sin(w @ x["a"]) + x["b"][0], "b": 0.5 * np.cos(x["b"]) * x["a"][:3].mean()}

    x0 = {"a": rng.standard_normal(8), "b": np.ones(3)}
    x, n, residuals, converged = _reference(update, x0, damping, 1e-13, max_iter)
    for kwargs in ({}, {"accel": "none"}, {"accel": "none", "memory": 3}):
        out = iterate(update, x0, Run("k"), damping=damping, tol=1e-13, max_iter=max_iter, **kwargs)
        assert out.iterations == n and out.converged == converged and out.restarts == 0
        assert out.residuals == residuals
        for k in x:
            assert np.array_equal(out.x[k], x[k]), k


@pytest.mark.parametrize("kwargs, name", [({"accel": "fast"}, "accel"), ({"accel": "Anderson"}, "accel"),
                                          ({"accel": "anderson", "memory": 0}, "memory"),
                                          ({"memory": -2}, "memory"), ({"memory": 2.5}, "memory"),
                                          ({"memory": True}, "memory")])
def test_bad_accel_and_memory(kwargs, name):
    update = lambda x: {"x": 0.5 * x["x"]}  # noqa: E731
    with pytest.raises(ValueError, match=name) as err:
        iterate(update, {"x": np.ones(2)}, Run("k"), **kwargs)
    if name == "accel":
        assert "'none'" in str(err.value) and "'anderson'" in str(err.value)


def test_divergence_is_reported_with_anderson():
    # no fixed point: every sweep adds the same vector, so dF vanishes up to rounding and the
    # Anderson candidate is dropped or extrapolated beyond OVERFLOW -> plain steps until overflow
    shift = np.array([1e149, 3e148])
    update = lambda x: {"x": x["x"] + shift}  # noqa: E731
    with np.errstate(over="ignore", invalid="ignore"):
        out = iterate(update, {"x": np.zeros(2)}, Run("k"), max_iter=100, accel="anderson")
    assert out.diverged and not out.converged and "diverged at sweep" in out.message
    assert np.all(np.isfinite(out.x["x"])) and out.iterations < 100
    plain = iterate(update, {"x": np.zeros(2)}, Run("k"), max_iter=100)
    assert plain.diverged and out.iterations == plain.iterations == 9
    assert out.restarts > 0  # candidates beyond OVERFLOW were refused

    # no fixed point (x^2 + 1 > x): Anderson wanders (restarting) or blows up, never converges
    with np.errstate(over="ignore", invalid="ignore"):
        out = iterate(lambda x: {"x": x["x"] ** 2 + 1}, {"x": np.linspace(0, 1, 3)}, Run("k"),
                      max_iter=300, accel="anderson")
    assert not out.converged and out.restarts > 0 and np.all(np.isfinite(out.x["x"]))
    assert out.diverged or "not converged after 300 sweeps" in out.message

    # a model that blows up in the middle of an accelerated run: the iterate it got is kept
    a, rhs = _contraction("symmetric")
    seen = []

    def blows_up(x):
        seen.append(x["x"].copy())
        return {"x": a @ x["x"] + rhs + (np.inf if len(seen) == 6 else 0.0)}

    out = iterate(blows_up, {"x": np.zeros(len(rhs))}, Run("k"), max_iter=100, accel="anderson")
    assert out.diverged and out.iterations == 5 and "diverged at sweep 6" in out.message
    assert np.array_equal(out.x["x"], seen[-1]) and np.all(np.isfinite(out.x["x"]))

    # a map with a blow-up in the first sweep, as in the plain driver test
    with np.errstate(over="ignore"):
        blowup = iterate(lambda x: {"x": x["x"] * 1e200 + 1}, {"x": np.ones(1)}, Run("k"),
                         max_iter=10, accel="anderson")
    assert blowup.diverged and np.all(np.isfinite(blowup.x["x"]))


def test_anderson_resume_reaches_the_same_fixed_point(tmp_path):
    a, rhs = _contraction("nonsymmetric")
    calls, interrupt_at = [], [None]

    def update(x):
        calls.append(1)
        if len(calls) == interrupt_at[0]:
            raise KeyboardInterrupt
        return {"x": a @ x["x"] + rhs}

    ckpt, x0 = tmp_path / "run.ckpt", {"x": np.zeros(len(rhs))}
    reference = iterate(update, x0, Run("k"), tol=1e-12, max_iter=500, accel="anderson")
    calls.clear()
    interrupt_at[0] = 8
    with pytest.raises(KeyboardInterrupt):
        iterate(update, x0, Run("k", checkpoint_path=ckpt, checkpoint_every=3600.0), tol=1e-12,
                max_iter=500, accel="anderson")
    interrupt_at[0] = None
    run = Run("k", checkpoint_path=ckpt, resume=True)
    resumed = iterate(update, x0, run, tol=1e-12, max_iter=500, accel="anderson")
    assert run.resumed_from == 7 and resumed.converged and reference.converged
    assert len(resumed.residuals) == resumed.iterations  # history continued from the checkpoint
    np.testing.assert_allclose(resumed.x["x"], reference.x["x"], rtol=0, atol=100 * 1e-12)
