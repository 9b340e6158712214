"""The error budget of two-layer against real-network SGD (validation/two_layer_budget.py): the
weighted 1/d fit (exact for a line, calibrated errors, chi^2 catches curvature), the exact sum of
the terms, first-order GD step, SGD -> GD (full batch: the step correction is exact; mini-batch:
the SGD term is first order in lr), the Gaussian term zero for linear sigma (Gaussian model = network)
and resolved for a cubic one, bad input before any work, the command line and the m-scaling fit.
Full runs: docs/models/two_layer_simulation.md, "Error budget against real networks"."""
import json

import numpy as np
import pytest

from dmft import api
from dmft.model import ParameterError
from validation import two_layer_budget as tb
from validation.two_layer_budget import Plan, Term, budget, intercept, scaling

SIZES = (50, 100, 200, 400)
# m = 4 at alpha = 1 (n = 4 d), the Fig. 4 activation h = 0.9 q + q^3/6: the Gaussian approximation is
# visibly wrong at this width (B ~ 0.05 in the test error), SGD batch 10
CUBIC = Plan(dict(m=4, alpha=1.0, t_max=4.0, dt=0.5, batch=10), (40, 80), (24, 24), 40, (20,), (24,))


def row(b, term, d, name, t):
    (r,) = [r for r in b["rows"] if (r["term"], r["d"], r["observable"], r["t"]) == (term, d, name, t)]
    return r["mean"], r["stderr"]


@pytest.fixture(scope="module")
def cubic():
    return budget(CUBIC)


def synthetic(g, b, curve, noise, seeds, reps, rng):
    """Per-seed values y = g + b/d + curve/d^2 + noise * sqrt(100/d) N(0,1) at every size, with
    ``reps`` independent replications on the time axis."""
    return {d: Term({d: g + b / d + curve / d**2
                     + noise * np.sqrt(100 / d) * rng.standard_normal((seeds, 1, reps))}) for d in SIZES}


def test_intercept_is_exact_for_a_line_and_its_errors_are_calibrated():
    rng = np.random.default_rng(3)
    g, chi2 = intercept(synthetic(0.7, -3.0, 0.0, 0.0, 4, 1, rng))
    assert abs(g.mean[0, 0] - 0.7) < 1e-12 and chi2[0, 0] < 1e-20
    g, chi2 = intercept(synthetic(0.7, -3.0, 0.0, 0.01, 32, 4000, rng))
    z = (g.mean - 0.7) / g.stderr
    assert 0.92 < np.mean(np.abs(z) < 1.96) < 0.965          # ~0.94: Student t with 31 dof
    assert 0.8 < chi2.mean() < 1.2
    _, chi2 = intercept(synthetic(0.7, -3.0, 400.0, 0.01, 32, 200, rng))   # negative control: curvature
    assert chi2.mean() > 5


def test_the_terms_add_up_to_sgd_minus_dmft(cubic):
    d0 = CUBIC.ref
    for name in tb.OBSERVABLES:
        for t in (1.0, 4.0):
            parts = [row(cubic, term, d, name, t)[0] for term, d in
                     (("sgd_noise", d0), ("gd_step", d0), ("finite_d", d0), ("gaussian", None))]
            total = row(cubic, "total", d0, name, t)[0]
            assert abs(sum(parts) - total) < 1e-12
            assert abs(total - (row(cubic, "sgd", d0, name, t)[0] - row(cubic, "dmft", None, name, t)[0])) < 1e-12


def test_gd_step_bias_is_first_order(cubic):
    """[GD(2h) - GD(h)] / [GD(h) - GD(h/2)] = 2 + O(h) for projected GD (Euler): h = 0.05."""
    for name in tb.OBSERVABLES:
        ratio = row(cubic, "gd_step_ratio", CUBIC.ref, name, 4.0)[0]
        assert 1.8 < ratio < 2.2, (name, ratio)


def test_gaussian_term_is_resolved_for_a_cubic_activation(cubic):
    """At m = 4 the real network and the Gaussian model differ: measured directly at d = 20 (same
    seeds) and through the d -> infinity extrapolation, both many standard errors from zero."""
    for term, d in (("gaussian_direct", 20), ("gaussian", None)):
        mean, se = row(cubic, term, d, "test_error", 4.0)
        assert mean > 4 * se, (term, mean, se)
        mean, se = row(cubic, term, d, "v", 4.0)
        assert mean < -4 * se, (term, mean, se)


def test_gaussian_term_vanishes_for_a_linear_activation():
    """Linear sigma, phi: the Gaussian model is the network (same draws), and the extrapolated
    network agrees with the DMFT within errors."""
    b = budget(Plan(dict(m=4, alpha=1.0, h=(1.0,), t_max=2.0, dt=0.5, batch=10), (40, 80), (16, 16), 40,
                    (20,), (16,)))
    for name in tb.OBSERVABLES:
        for t in (1.0, 2.0):
            mean, se = row(b, "gaussian_direct", 20, name, t)
            assert abs(mean) < 1e-10 and se < 1e-10
            mean, se = row(b, "gaussian", None, name, t)
            assert abs(mean) < 4 * se, (name, t, mean, se)


def test_sgd_converges_to_gd():
    """Full batch: SGD is GD at eta1 = lr d/n, and the step correction c (h - eta1) makes the SGD term
    vanish to O(h^2) (uncorrected SGD - GD(h) is > 100x larger).  Batch 10: the SGD term is first
    order in lr (ratio 4 between lr = 0.04 and 0.01, measured 4.1-4.7 for a), so SGD -> GD as lr -> 0;
    the uncorrected difference does not even keep its sign."""
    given = dict(m=4, alpha=0.3, t_max=2.0, dt=1.0)
    full = budget(Plan({**given, "sim_step": 0.04, "batch": 48}, (40, 80), (8, 8), 40))   # n = 48 at d = 40
    for name in tb.OBSERVABLES:
        corrected = abs(row(full, "sgd_noise", 40, name, 2.0)[0])
        uncorrected = abs(row(full, "sgd", 40, name, 2.0)[0] - row(full, "gd", 40, name, 2.0)[0])
        assert corrected < uncorrected / 100 and uncorrected > 1e-4, (name, corrected, uncorrected)
    small, large = (budget(Plan({**given, "sim_step": lr, "batch": 10}, (40, 80), (32, 32), 40))
                    for lr in (0.01, 0.04))
    a_small, se = row(small, "sgd_noise", 40, "a", 2.0)
    assert abs(a_small) > 4 * se
    assert 2.5 < row(large, "sgd_noise", 40, "a", 2.0)[0] / a_small < 6.5
    raw = [row(b, "sgd", 40, "a", 2.0)[0] - row(b, "gd", 40, "a", 2.0)[0] for b in (small, large)]
    assert not 2.5 < raw[1] / raw[0] < 6.5


@pytest.mark.parametrize("change, word", [
    (dict(seeds=(8,)), "--seeds"), (dict(sizes=(40, 40), seeds=(8, 8)), "--sizes"),
    (dict(ref=50), "--ref"), (dict(seeds=(8, 1)), "--seeds"),
    (dict(gaussian_sizes=(40,), gaussian_seeds=(4,)), "same number of seeds"),
    (dict(gd_step=0.3), "sim_step"), (dict(given=dict(m=4, t_max=2.0, dt=1.0, batch=500)), "batch"),
    (dict(given=dict(m=64, t_max=2.0, dt=1.0)), "'d'"), (dict(dmft_dt=0.0), "--dmft-dt"),
    (dict(given=dict(m=4, t_max=2.0, dt=1.0, method="mf-ode")), "method")])
def test_bad_input_is_rejected_before_any_work(monkeypatch, change, word):
    def forbidden(*args, **kwargs):
        raise AssertionError("work started")
    monkeypatch.setattr(api, "solve", forbidden)
    monkeypatch.setattr(api, "simulate", forbidden)
    fields = dict(given=dict(m=4, t_max=2.0, dt=1.0, batch=10), sizes=(40, 80), seeds=(8, 8), ref=40)
    fields.update(change)
    with pytest.raises(ParameterError, match=word):
        budget(Plan(**fields))


def test_command_line_is_reproducible_and_scaling_recovers_the_exponent(tmp_path, capsys):
    argv = ["run", "m=3", "t_max=1", "--sizes", "30,60", "--seeds", "4,4", "dt=1", "batch=10", "--ref",
            "30", "--quiet", "-o", str(tmp_path / "b.json")]
    assert tb.main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert tb.main(argv) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == first["rows"]
    assert first["seed"] == 0 and json.loads((tmp_path / "b.json").read_text())["rows"] == first["rows"]
    with pytest.raises(SystemExit):
        tb.main(argv + ["junk"])
    budgets = []
    for m in (8, 16, 32):           # B = 0.8/m; the total changes sign (no power law)
        rows = [{"term": "gaussian", "d": None, "observable": "v", "t": 1.0, "mean": 0.8 / m, "stderr": 1e-3},
                {"term": "total", "d": 200, "observable": "v", "t": 1.0, "mean": 0.1 if m == 16 else -0.1,
                 "stderr": 1e-3}]
        budgets.append({"m": m, "ref": 200, "rows": rows})
    (path := tmp_path / "b8.json").write_text(json.dumps(budgets[0]))
    fit = {r["term"]: r for r in scaling(budgets)}
    assert abs(fit["gaussian"]["slope"] + 1) < 1e-9 and fit["gaussian"]["slope_stderr"] > 0
    assert fit["total"]["slope"] is None
    with pytest.raises(ParameterError, match="distinct widths"):
        scaling(budgets[:1])
    assert tb.main(["scaling", str(path)]) == 2
