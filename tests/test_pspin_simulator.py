"""The finite-N spherical p-spin simulator (validation/pspin.py): reproducibility, the coupling
normalisation, the gradient, the exact p = 2 quench, high-temperature equilibrium and input checks."""
import math

import numpy as np
import pytest

import dmft
from scipy.special import ive

from dmft.model import ParameterError
from dmft.run import Run
from dmft.simulation import generator
from validation import pspin
from validation.pspin import PSpinSimulator


def params(**given):
    p = dict(p=3, f=None, T=0.5, t_max=1.0, dt=0.1, t_w=None,
             # present in real parameter sets, ignored by the simulator
             seed=0, tol=1e-6)
    p.update(given)
    return p


def simulate(d=30, seeds=3, seed=0, indices="all", **given):
    return PSpinSimulator(indices).simulate(params(**given), d, seeds, seed, Run("k"))


def e_p2_exact(t):
    """T = 0, f = q^2/2: e(t) = -I_0(4t)/I_1(4t) + 1/(2t) (e(0) = 0), from scaled Bessels."""
    t = np.asarray(t, dtype=float)
    out = np.zeros_like(t)
    pos = t > 0
    x = 4 * t[pos]
    out[pos] = -ive(0, x) / ive(1, x) + 1 / (2 * t[pos])
    return out


def test_reproducible_and_observables():
    kw = dict(d=30, seeds=3, seed=4, T=0.5, t_max=1.0, dt=0.1, t_w=(0.33, 0.0))
    a, b = simulate(**kw), simulate(**kw)
    names = ["energy", "mu", "C0", "C_tw=0.33", "C_tw=0"]
    assert set(a.observables) == set(names + [n + "_stderr" for n in names])
    for name in names:
        assert np.array_equal(a.simulation["per_seed"][name], b.simulation["per_seed"][name],
                              equal_nan=True), name
    assert not np.array_equal(a["energy"], simulate(**{**kw, "seed": 5})["energy"])
    assert a.solver["method"] == "projected-euler-maruyama"
    assert a.simulation["substeps"] == 20 and a.simulation["step"] == pytest.approx(0.005)
    assert np.allclose(a.t, 0.1 * np.arange(11))
    # t_w = 0.33 is taken at the closest grid point, t = 0.3: NaN before it, 1 at it
    c = a.simulation["per_seed"]["C_tw=0.33"]
    assert np.all(np.isnan(c[:, :3])) and np.all(c[:, 3] == 1.0) and np.all(np.isfinite(c[:, 3:]))
    assert np.all(np.isnan(a["C_tw=0.33"][:3])) and np.all(np.isfinite(a.stderr("C_tw=0.33")[3:]))
    assert a.stderr("C_tw=0.33")[3] == 0
    assert np.array_equal(a.simulation["per_seed"]["C_tw=0"], a.simulation["per_seed"]["C0"])
    assert np.all(a["C0"][1:] < 1) and a["C0"][0] == 1 and np.all(a.stderr("energy")[1:] > 0)
    # pure p: sigma.grad H = p H, so mu = T - p e on every sample
    per = a.simulation["per_seed"]
    assert np.allclose(per["mu"], 0.5 - 3 * per["energy"], rtol=0, atol=1e-12)
    # neither p nor f: p = 3 (the model's default)
    none = simulate(**{**kw, "p": None})
    assert np.array_equal(none.simulation["per_seed"]["energy"], per["energy"])
    # the draw order of the module doc: couplings, then the start; energy(0) = H(sigma(0))/N
    for k in range(3):
        rng = generator(4, 30, k)
        couplings = pspin.sample_couplings(pspin.coefficients(params()), 30, rng)
        s0 = pspin.initial_point(30, rng)
        assert s0 @ s0 == pytest.approx(30)
        assert a.simulation["per_seed"]["energy"][k, 0] == pytest.approx(couplings.energy(s0) / 30,
                                                                         rel=1e-12)


@pytest.mark.parametrize("indices", pspin.INDICES)
def test_gradient_against_dense_tensors(indices):
    N = 6
    c = np.array([0.3, 1.0, 0.7, 0.5])
    rng = np.random.default_rng(1)
    couplings = pspin.sample_couplings(c, N, rng, indices)
    s = rng.standard_normal(N)
    H, g = couplings.gradient(s)
    H_ref, g_ref, euler = couplings.J[1] @ s, couplings.J[1].copy(), couplings.J[1] @ s
    for k, letters in ((2, "ij"), (3, "ijk"), (4, "ijkl")):
        T = couplings.dense_tensor(k)
        assert np.array_equal(T, np.transpose(T, np.roll(np.arange(k), 1)))  # symmetric
        if indices == "distinct":
            assert all(T[(i,) * 2 + (0,) * (k - 2)] == 0 for i in range(N))
        Hk = np.einsum(letters + "," + ",".join(letters), T, *[s] * k) / math.factorial(k)
        gk = np.einsum(letters + "," + ",".join(letters[1:]) + "->i", T, *[s] * (k - 1))
        H_ref, g_ref = H_ref + Hk, g_ref + gk / math.factorial(k - 1)
        euler += k * Hk
    assert H == pytest.approx(H_ref, rel=1e-12, abs=1e-12)
    assert np.allclose(g, g_ref, rtol=1e-12, atol=1e-12)
    assert s @ g == pytest.approx(euler, rel=1e-12)          # s.grad H_k = k H_k
    # central finite differences
    eps = 1e-6
    fd = [(couplings.energy(s + eps * e) - couplings.energy(s - eps * e)) / (2 * eps)
          for e in np.eye(N)]
    assert np.allclose(g, fd, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("indices", pspin.INDICES)
def test_coupling_normalisation(indices):
    """Sampled E[H(s) H(s')] against the exact covariance, which is N f(q) exactly ("all") or
    N f(q) (1 + O(1/N)) ("distinct"; on the sphere E[H_k^2] = N c_k/2 (1 - 3k(k-1)/(2N)))."""
    c = np.array([0.0, 0.6, 1.0, 0.4])
    N, M = 12, 3000
    rng = np.random.default_rng(2)
    s1, s2 = pspin.initial_point(N, rng), pspin.initial_point(N, rng)
    H = np.empty((M, 2))
    for k in range(M):
        couplings = pspin.sample_couplings(c, N, generator(7, N, k), indices)
        H[k] = couplings.energy(s1), couplings.energy(s2)
    for a, b in ((0, 0), (1, 1), (0, 1)):
        x = H[:, a] * H[:, b]
        exact = pspin.covariance(c, (s1, s2)[a], (s1, s2)[b], indices)
        assert abs(x.mean() - exact) <= 4 * x.std() / np.sqrt(M), (a, b)
    assert abs(H.mean()) <= 4 * H.std() / np.sqrt(M)
    # the exact covariance against N f(q): exact ("all"), leading order ("distinct")
    big = 4000
    s, s_ = pspin.initial_point(big, rng), pspin.initial_point(big, rng)
    s_ = 0.6 * s + 0.8 * s_                       # overlap q ~ 0.6
    q = s @ s_ / big
    f = sum(c[k - 1] * q**k / 2 for k in range(1, 5))
    if indices == "all":
        assert pspin.covariance(c, s, s_, indices) == pytest.approx(big * f, rel=1e-12)
    else:
        assert pspin.covariance(c, s, s_, indices) == pytest.approx(big * f, rel=100 / big)
        # E[H_k(s)^2] = N c_k/2 (1 - k(k-1)/2 sum_i s_i^4 / N^2 + O(N^-2)), sum_i s_i^4 ~ 3N
        p2 = np.sum(s**4) / big
        deficit = sum(c[k - 1] / 2 * k * (k - 1) / 2 * p2 for k in range(1, 5))
        assert p2 == pytest.approx(3, rel=0.1)
        assert pspin.covariance(c, s, s, indices) == pytest.approx(big * c.sum() / 2 - deficit,
                                                                   rel=0, abs=0.02 * deficit)


def test_p2_zero_temperature_quench():
    """f = q^2/2, T = 0.  (a) Each trajectory against the exact finite-N solution of the same
    couplings, sigma(t) ~ exp(-A t) sigma(0) (H = sigma^T A sigma / 2): only the O(h) error of
    the integrator.  (b) The mean against the N = infinity energy.  Allowance 3/N: the exact
    finite-N dynamics (eigendecomposition, thousands of samples) has a mean bias of
    (1.2..2.1)/N for t in [0.5, 5] at N = 50..400 (zero diagonal; about half with a GOE
    diagonal, indices="all"), with no sign yet of the N^(-2/3) edge regime at these times."""
    N, seeds, p = 300, 16, params(p=2, T=0.0, t_max=5.0, dt=0.05)
    r = PSpinSimulator(indices="distinct").simulate(p, N, seeds, 3, Run("k"))
    per = r.simulation["per_seed"]
    for k in range(2):
        rng = generator(3, N, k)
        couplings = pspin.sample_couplings(pspin.coefficients(p), N, rng, indices="distinct")
        s0 = pspin.initial_point(N, rng)
        A = np.zeros((N, N))
        A[np.triu_indices(N, 1)] = couplings.J[2]
        A += A.T
        lam, V = np.linalg.eigh(A)
        u = V.T @ s0
        w = np.exp(-np.outer(r.t, lam - lam[0])) * u                # exp(-A t) s0 in the eigenbasis
        norm2 = (w**2).sum(1)
        assert np.max(np.abs(per["energy"][k] - 0.5 * (w**2 @ lam) / norm2)) < 2e-3
        assert np.max(np.abs(per["C0"][k] - (w @ u) / np.sqrt(norm2 * N))) < 2e-3
    e = e_p2_exact(r.t)
    assert np.all(np.abs(r["energy"] - e) <= 4 * r.stderr("energy") + 3 / N)
    assert r["energy"][0] == pytest.approx(0, abs=4 * r.stderr("energy")[0])
    assert np.all(np.diff(per["energy"], axis=1) < 0)                  # gradient flow
    assert np.all(per["energy"] > -1.1)                               # ground state ~ -1


@pytest.mark.parametrize("indices", pspin.INDICES)
def test_p3_high_temperature_equilibrium(indices):
    """p = 3, T = 2 (> T_d ~ 0.61): after t = 3 the energy has relaxed to -f(1)/T = -1/(2T).  At
    finite N the equilibrium energy is -(beta/N) E[H^2] up to O(N^-2): -(1 - 9/N)/(2T) for
    "distinct" (module doc), -1/(2T) for "all".  Each seed's time average over t in [3, 8] is
    one sample (16 seeds); allowance 1/N for the remaining corrections (O(N^-2), O(h) ~ 1e-3 of the
    integrator)."""
    N, seeds, T = 64, 16, 2.0
    r = PSpinSimulator(indices).simulate(params(p=3, T=T, t_max=8.0, dt=0.1), N, seeds, 1, Run("k"))
    e = r.simulation["per_seed"]["energy"][:, r.t >= 3].mean(axis=1)
    mean, se = e.mean(), e.std(ddof=1) / np.sqrt(seeds)
    expected = -1 / (2 * T) * ((1 - 9 / N) if indices == "distinct" else 1.0)
    assert abs(mean - expected) <= 4 * se + 1 / N, (mean, se, expected)
    assert abs(mean + 1 / (2 * T)) <= 4 * se + 1 / N + 9 / (2 * T * N)
    mu = r.simulation["per_seed"]["mu"][:, r.t >= 3].mean(axis=1)       # T - 3 e -> T + f'(1)/T
    assert abs(mu.mean() - (T - 3 * expected)) <= 4 * mu.std(ddof=1) / np.sqrt(seeds) + 3 / N


@pytest.mark.parametrize("given,name", [
    (dict(p=5), "'p'"),
    (dict(p=None, f=(0.0, 1.0, 0.0, 0.0, 0.3)), "'f'"),
    (dict(T=-0.1), "'T'"),
    (dict(t_w=(0.5, 2.0)), "'t_w'"),
])
def test_invalid_input(given, name):
    with pytest.raises(ParameterError, match=name):
        simulate(**given)


@pytest.mark.parametrize("given,name", [
    (dict(f=(0.0, -1.0)), "'f'"),
    (dict(f=(0.0, 0.0)), "'f'"),
    (dict(p=3, f=(0.0, 1.0)), "'p'"),
])
def test_invalid_model_parameters_are_rejected_before_simulating(given, name):
    with pytest.raises(ParameterError, match=name):
        dmft.simulate("pspin", d=30, seeds=3, t_max=1.0, dt=0.1, **given)


def test_size_checks():
    with pytest.raises(ParameterError, match="'d'"):
        simulate(d=2, p=3, indices="distinct")   # needs d >= 3 distinct indices
    with pytest.raises(ParameterError, match="'d'"):
        simulate(d=2000, p=4)                     # 6.6e10 couplings


def test_mixture_with_field_and_quartic_term():
    """f = (0.2 q + 0.5 q^2 + 0.3 q^4)/2 at T = 0: gradient flow lowers the energy on every
    trajectory, and mu(0) = T - sigma(0).grad H / N from the same draws."""
    p = params(p=None, f=(0.2, 0.5, 0.0, 0.3), T=0.0, t_max=0.5, dt=0.05)
    r = PSpinSimulator().simulate(p, 12, 2, 9, Run("k"))
    per = r.simulation["per_seed"]
    assert np.all(np.diff(per["energy"], axis=1) < 0)
    for k in range(2):
        rng = generator(9, 12, k)
        couplings = pspin.sample_couplings(pspin.coefficients(p), 12, rng)
        assert sorted(couplings.J) == [1, 2, 4]
        s0 = pspin.initial_point(12, rng)
        H, g = couplings.gradient(s0)
        assert per["energy"][k, 0] == pytest.approx(H / 12, rel=1e-12)
        assert per["mu"][k, 0] == pytest.approx(-s0 @ g / 12, rel=1e-12)
