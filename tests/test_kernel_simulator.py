"""Simulator of ``kernel``: the eigendecomposition closed form against a direct integration of
the gradient flow, the target's harmonics, reproducibility, and the Gaussian-equivalent DMFT
against the kernel simulation (within a few percent; a wrong n fails)."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import dmft
from validation.compare import compare
from solvers.kernel_spectrum import Kernel, Spectrum
from validation.kernel import gradient_flow, harmonic_norm2, sphere, target_parts


def test_target_harmonics_have_the_requested_power():
    rng = np.random.default_rng(1)
    x = sphere(rng, 400000, 12)
    assert np.allclose(np.linalg.norm(x, axis=1), np.sqrt(12))
    parts = target_parts(x, (1.0, 0.5, 2.0))
    assert np.allclose(np.mean(parts**2, axis=1), (1.0, 0.5, 2.0), rtol=0.03)
    assert np.allclose(parts @ parts.T / len(x) - np.diag(np.mean(parts**2, axis=1)), 0, atol=0.02)
    assert harmonic_norm2(100, 2) == pytest.approx(100 / 102, rel=1e-14)
    assert harmonic_norm2(100, 3) == pytest.approx(100**2 / (102 * 104), rel=1e-14)


def test_closed_form_equals_integrated_gradient_flow():
    """beta' = (y - K beta)/n integrated by RK45 at tolerance 1e-11, same draws."""
    d, n, n_test, sigma2, powers = 15, 120, 500, 0.2, (1.0, 0.7)
    kernel = Kernel()
    xi = Spectrum(d, kernel).xi[1:3]
    t = np.array([0.0, 3.0, 30.0, 300.0])
    out = gradient_flow(kernel, xi, powers, sigma2, d, n, n_test, t, np.random.default_rng(7))
    rng = np.random.default_rng(7)                  # the same draws, in the same order
    X = sphere(rng, n, d)
    parts = target_parts(X, powers)
    y = parts.sum(axis=0) + np.sqrt(sigma2) * rng.standard_normal(n)
    K = kernel.h(X @ X.T / d, d)
    sol = solve_ivp(lambda _, b: (y - K @ b) / n, (0, t[-1]), np.zeros(n), t_eval=t, rtol=1e-11, atol=1e-13)
    beta = sol.y
    assert np.allclose(np.mean((K @ beta - y[:, None]) ** 2, axis=0), out["train_error"], rtol=1e-7)
    x = sphere(rng, n_test, d)
    f = kernel.h(x @ X.T / d, d) @ beta
    reduced = np.mean(f**2, axis=0) - 2 * (xi[:, None] * parts @ beta).sum(axis=0) + sum(powers) + sigma2
    assert np.allclose(reduced, out["test_error"], rtol=1e-7)
    assert np.allclose(xi[0] * parts[0] @ beta, out["learned_1"], rtol=1e-7, atol=1e-12)


def test_same_seed_same_numbers():
    args = dict(d=20, n=100, points=6, n_test=500, seeds=2, seed=3)
    a, b = dmft.simulate("kernel", **args), dmft.simulate("kernel", **args)
    assert np.array_equal(a["test_error"], b["test_error"]) and a.seed == 3
    assert not np.array_equal(a["test_error"], dmft.simulate("kernel", **{**args, "seed": 4})["test_error"])


@pytest.fixture(scope="module")
def small_case():
    params = dict(d=40, n=250, target=(1.0, 1.0, 1.0), sigma2=0.1, t_min=1.0, t_max=1e7, points=22, n_test=2000)
    sim = dmft.simulate("kernel", seeds=8, seed=0, **params)
    return params, sim


def _relative_gap(theory, sim, name, floor):
    keep = sim[name] > floor
    return np.max(np.abs(theory[name][keep] / sim[name][keep] - 1))


def test_dmft_agrees_with_the_kernel_simulation_within_a_few_percent(small_case):
    params, sim = small_case
    theory = dmft.solve("kernel", **params)
    assert np.allclose(theory.t, sim.t)
    # test error at every time from 1 to 1e7 and the train error until it is 1e-3 of its start
    assert _relative_gap(theory, sim, "test_error", 0) < 0.05
    assert _relative_gap(theory, sim, "train_error", 3e-3) < 0.08
    assert np.max(np.abs(theory["learned_1"] - sim["learned_1"])) < 0.05
    # negative control: the theory of a different sample size is far off
    wrong = dmft.solve("kernel", **{**params, "n": 500})
    assert _relative_gap(wrong, sim, "test_error", 0) > 0.1


def test_validate_passes_and_a_wrong_theory_fails(tmp_path):
    """`dmft validate` (size = the model's d, passed through a config: see docs/models/kernel.md)."""
    config = tmp_path / "small.toml"
    config.write_text('model = "kernel"\nd = 40\nn = 250\npoints = 8\nn_test = 2000\n')
    v = dmft.validate("kernel", config, sizes=(40,), seeds=6, report=tmp_path / "report")
    assert v.passed and set(v.summary["observables"]) >= {"test_error", "train_error", "learned_1"}
    assert (tmp_path / "report" / "report.html").exists()
    wrong = dmft.solve("kernel", config, n=320)                  # negative control: another n
    assert not compare(wrong, v.simulations).passed
