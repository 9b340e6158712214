"""validation.compare on synthetic results with known answers."""
import numpy as np
import pytest

from scipy import stats

from dmft.result import Result
from validation.compare import compare, t_limit

T = np.linspace(0.0, 1.0, 11)


def _theory(value):
    return Result("toy", {}, T, observables={"x": np.full(len(T), value), "y": np.zeros(len(T))})


def _sim(d, mean, stderr):
    mean = np.broadcast_to(mean, T.shape).astype(float)
    se = np.broadcast_to(stderr, T.shape).astype(float)
    return Result("toy", {}, T, observables={"x": mean, "x_stderr": se, "y": np.zeros(len(T)),
                                             "y_stderr": np.zeros(len(T))},
                  simulation={"d": d, "seeds": 8}, seed=0)


def test_z_pass_fail_and_exact_values():
    se = np.full(len(T), 0.01)
    se[0] = 0.0                                   # known exactly at t = 0 on both sides
    mean = np.full(len(T), 1.0)
    mean[1:] += 0.02                              # 2 standard errors off
    v = compare(_theory(1.0), [_sim(100, mean, se)], threshold=4.0)
    x = next(c for c in v.comparisons if c.observable == "x")
    assert x.z[0] == 0.0 and x.z[1:] == pytest.approx(-2.0, rel=1e-6)
    assert x.max_abs_z == pytest.approx(2.0, rel=1e-6) and v.passed
    y = next(c for c in v.comparisons if c.observable == "y")
    assert y.max_abs_z == 0.0                     # 0 against 0 with no error: equal, not NaN
    assert not compare(_theory(1.0), [_sim(100, mean, se)], threshold=1.5).passed


def test_finite_size_trend_and_resolution():
    sizes = (100, 400, 1600)
    sims = [_sim(d, 1.0 + 0.3 / np.sqrt(d), 0.1 / np.sqrt(d)) for d in sizes]
    v = compare(_theory(1.0), sims, threshold=4.0)
    assert v.trend("x") == pytest.approx(-0.5, abs=1e-9)
    summary = v.summary["observables"]["x"]
    limit = stats.t.isf(stats.norm.sf(4.0), 7)                 # 8 seeds: 7 degrees of freedom
    assert summary["by_size"]["100"]["limit"] == pytest.approx(limit)
    assert summary["by_size"]["100"]["relative_resolution"] == pytest.approx(limit * 0.01)
    assert summary["relative_resolution"] == pytest.approx(limit * 0.1 / 40)
    assert summary["max_abs_z"] == pytest.approx(3.0) and summary["passed"]
    assert v.summary["observables"]["y"]["relative_resolution"] is None


def test_theory_interpolated_onto_simulation_times_within_its_range():
    theory = Result("toy", {}, T, observables={"x": 2 * T})
    t_sim = np.array([0.05, 0.55, 1.5])          # 1.5 lies beyond the theory's grid: ignored
    sim = Result("toy", {}, t_sim, observables={"x": 2 * t_sim, "x_stderr": np.full(3, 0.1)},
                 simulation={"d": 10, "seeds": 2})
    c = compare(theory, [sim]).comparisons[0]
    np.testing.assert_allclose(c.t, [0.05, 0.55])
    assert c.max_abs_z < 1e-9


def test_student_t_limit():
    """Same tail probability as the normal threshold; Welch-Satterthwaite degrees of freedom."""
    assert t_limit(4.0, 1.0, 7, 0.0, np.inf) == pytest.approx(8.47, abs=0.01)
    assert t_limit(4.0, 1.0, 15, 0.0, np.inf) == pytest.approx(5.48, abs=0.01)
    assert t_limit(4.0, 1.0, 1e9, 0.0, np.inf) == pytest.approx(4.0, abs=1e-6)
    assert t_limit(4.0, 0.0, 7, 0.0, np.inf) == pytest.approx(4.0)        # exactly known: normal
    # equal errors on both sides with 7 degrees of freedom each: 14 effective
    assert t_limit(4.0, 1.0, 7, 1.0, 7) == pytest.approx(stats.t.isf(stats.norm.sf(4.0), 14))


def test_times_undefined_on_both_sides_are_skipped_but_one_sided_nan_fails():
    undefined = np.where(T < 0.35, np.nan, 1.0)        # like C(t, t_w) before t_w
    theory = Result("toy", {}, T, observables={"x": undefined})
    v = compare(theory, [_sim(100, undefined, 0.01)])
    x = v.comparisons[0]
    assert len(x.t) == np.sum(T >= 0.35) and v.passed
    assert not compare(theory, [_sim(100, 1.0, 0.01)]).passed   # simulation defined where theory is not
