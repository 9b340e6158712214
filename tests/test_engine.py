"""Engine pieces on their own: grid, quadrature, parameters, drivers, plug-in discovery."""
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

import dmft
from dmft import registry
from dmft.fixedpoint import iterate
from dmft.grid import UniformGrid
from dmft.march import march
from dmft.model import Param, ParameterError, resolve
from dmft.quadrature import left_weights, trapezoid_weights
from dmft.run import Run


def test_uniform_grid():
    g = UniformGrid.up_to(1.0, 0.1)
    assert g.n == 11 and g.t[-1] == pytest.approx(1.0)
    np.testing.assert_allclose(left_weights(g.t), 0.1)
    assert UniformGrid.up_to(1.05, 0.1).n == 11
    with pytest.raises(ValueError):
        UniformGrid(dt=0.0, n_points=5)


def test_left_weights_are_steps():
    t = np.array([0.0, 0.1, 0.3, 0.7])
    np.testing.assert_allclose(left_weights(t), [0.1, 0.2, 0.4])


def test_trapezoid_exact_for_linear_and_second_order():
    t = np.sort(np.random.default_rng(1).uniform(0, 2, 30))
    t[0] = 0.0
    w = trapezoid_weights(t, 3, 20)
    assert w[:3].sum() == 0 and w[21:].sum() == 0
    assert w @ (2 * t + 1) == pytest.approx((t[20] ** 2 + t[20]) - (t[3] ** 2 + t[3]), rel=1e-13)
    errors = []
    for n in (41, 81, 161):
        grid = np.linspace(0, 1, n)
        errors.append(abs(trapezoid_weights(grid, 0, n - 1) @ np.exp(grid) - (np.e - 1)))
    assert np.log2(errors[0] / errors[1]) == pytest.approx(2, abs=0.05)
    assert np.log2(errors[1] / errors[2]) == pytest.approx(2, abs=0.05)
    assert not trapezoid_weights(grid, 5, 5).any()


def test_param_conversion_and_messages():
    p = Param("alpha", float, 1.0, "ratio", low=0, low_open=True)
    assert p.convert("2.5") == 2.5 and p.allowed() == "> 0"
    with pytest.raises(ParameterError, match=r"'alpha' must be > 0 \(got 0.0\)"):
        p.convert(0)
    with pytest.raises(ParameterError, match="'alpha' must be of type float"):
        p.convert("x")
    with pytest.raises(ParameterError, match="must be"):
        p.convert("nan")
    q = Param("n", int, 3, "count", low=1, high=10)
    assert q.convert("7") == 7 and q.allowed() == "[1, 10]"
    with pytest.raises(ParameterError, match="type int"):
        q.convert(2.5)
    c = Param("method", str, "gf", "dynamics", choices=("gf", "gd"))
    with pytest.raises(ParameterError, match="one of gf|gd"):
        c.convert("sgd")
    b = Param("frozen", bool, False, "flag")
    assert b.convert("true") is True and b.convert("0") is False
    with pytest.raises(ParameterError):
        b.convert("maybe")
    with pytest.raises(ParameterError, match="unknown parameter 'beta'"):
        resolve((p,), {"beta": 1}, "model 'x'")
    assert resolve((p, q), {"n": "4"}, "m") == {"alpha": 1.0, "n": 4}


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_param_range_property(x):
    p = Param("sigma2", float, 0.0, "noise", low=0.0)
    if x >= 0:
        assert p.convert(x) == x
    else:
        with pytest.raises(ParameterError):
            p.convert(x)


def test_fixed_point_driver_damping_and_flags():
    a = np.array([[0.5, 0.2], [0.1, 0.3]])
    rhs = np.array([1.0, 2.0])
    exact = np.linalg.solve(np.eye(2) - a, rhs)
    update = lambda x: {"x": a @ x["x"] + rhs}  # noqa: E731
    plain = iterate(update, {"x": np.zeros(2)}, Run("k"), tol=1e-12, max_iter=500)
    damped = iterate(update, {"x": np.zeros(2)}, Run("k"), damping=0.5, tol=1e-12, max_iter=500)
    for out in (plain, damped):
        assert out.converged and not out.diverged
        np.testing.assert_allclose(out.x["x"], exact, atol=1e-11)
    assert damped.iterations > plain.iterations          # contraction 0.6 vs 0.8 per sweep
    assert plain.residuals[-1] < 1e-12 < plain.residuals[0]
    short = iterate(update, {"x": np.zeros(2)}, Run("k"), tol=1e-12, max_iter=3)
    assert not short.converged and "not converged after 3 sweeps" in short.message
    with np.errstate(over="ignore"):
        blowup = iterate(lambda x: {"x": x["x"] * 1e200 + 1}, {"x": np.ones(1)}, Run("k"), max_iter=10)
    assert blowup.diverged and np.all(np.isfinite(blowup.x["x"]))


def test_march_stops_at_first_non_finite_row():
    n = 10
    state = {"x": np.zeros(n), "R": np.zeros((n, n))}

    def step(i):
        state["x"][i] = 1.0 / (6 - i) if i != 6 else np.inf
        state["R"][i, :i] = 1.0

    out = march(step, state, n, Run("k"), t=np.arange(n) * 0.5)
    assert out.diverged and out.rows == 6 and "t=3" in out.message


TOY_MODEL = '''
import numpy as np
from dmft.grid import UniformGrid
from dmft.march import march
from dmft.model import Model, Param
from dmft.result import Result


class Relaxation(Model):
    """dR(t,s)/dt = -k R(t,s), R(s+,s) = 1: explicit Euler, R_ij = (1 - k dt)^(i-j-1)."""
    name = "toy-relaxation"
    summary = "third-party test model"
    parameters = (Param("k", float, 1.0, "rate", low=0), Param("t_max", float, 2.0, "end", low=0, low_open=True),
                  Param("dt", float, 0.1, "step", low=0, low_open=True))
    observables = {"r1": "R(t, 0)"}

    def solve(self, p, run):
        grid = UniformGrid.up_to(p["t_max"], p["dt"])
        state = {"R": np.zeros((grid.n, grid.n))}

        def step(i):
            R = state["R"]
            if i > 0:
                R[i, : i - 1] = (1 - p["k"] * p["dt"]) * R[i - 1, : i - 1]
                R[i, i - 1] = 1.0

        out = march(step, state, grid.n, run, grid.t)
        return Result(self.name, p, grid.t, observables={"r1": state["R"][:, 0]}, order=state,
                      solver={"method": "causal-march", "converged": not out.diverged})
'''


def test_third_party_model_is_discovered_through_entry_points(tmp_path, monkeypatch):
    (tmp_path / "toy_plugin.py").write_text(TOY_MODEL)
    info = tmp_path / "toy_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[dmft.models]\ntoy-relaxation = toy_plugin:Relaxation\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry._group.cache_clear()
    try:
        assert "toy-relaxation" in dmft.models() and "linear-regression" in dmft.models()
        r = dmft.solve("toy-relaxation", k=0.5, dt=0.1, t_max=1.0)
        np.testing.assert_allclose(r["r1"][1:], 0.95 ** np.arange(10))
        with pytest.raises(ParameterError, match="no simulator"):
            dmft.simulate("toy-relaxation", d=10, seeds=2)
    finally:
        sys.modules.pop("toy_plugin", None)
        registry._group.cache_clear()


def test_unknown_model_lists_available():
    with pytest.raises(ParameterError, match="unknown model 'nope' .*linear-regression"):
        dmft.solve("nope")


def test_result_accessors(lr_solve):
    r = lr_solve(method="gd", dt=0.2, t_max=2)
    assert r["C"] is r.order["C"] and r["test_error"] is r.observables["test_error"]
    with pytest.raises(KeyError, match="neither"):
        r["nothing"]
    assert r.stderr("test_error") is None
    assert r.at(1.0)["test_error"] == r["test_error"][5]
    assert "linear-regression" in repr(r)


def test_march_checks_vector_and_block_rows_whole():
    """A one-time vector (n, k) and a two-time block array (n, n, m, m) are checked per row."""
    n = 5
    state = {"v": np.zeros((n, 3)), "C": np.zeros((n, n, 2, 2))}

    def step(i):
        state["C"][i, : i + 1] = 1.0
        state["v"][i] = [1.0, 2.0, np.nan if i == 0 else 3.0]  # last component of v(t_0)

    assert march(step, state, n, Run("k")).rows == 0

    state = {"v": np.zeros((n, 3)), "C": np.zeros((n, n, 2, 2))}

    def block_step(i):
        if i == 1:
            state["C"][i, 0, 1, 1] = np.inf

    assert march(block_step, state, n, Run("k")).rows == 1
