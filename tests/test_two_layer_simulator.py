"""The finite-size ``two-layer`` simulators (validation/two_layer.py, two_layer_gaussian.py):
the random-tensor covariances, the gradients, the construction of W(0), the t = 0 laws, the
sphere constraint, Gaussian model = real network for linear h, SGD(batch = n) = GD under the time
map, the population risk against a Monte Carlo test set, symmetries, reproducibility, bad input."""
import math

import numpy as np
import pytest
from numpy.polynomial import polynomial

from dmft.model import ParameterError
from dmft.run import Run
from validation import two_layer
from validation.two_layer import Network, TwoLayerSimulator, initial_weights, population_risk
from validation.two_layer_gaussian import GaussianModel

SETTING1_C = (1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1)


def params(**given):
    p = dict(m=3, alpha=None, alpha_bar=1.5, tau=0.5, h=(0.5, 0.5), target="noise", phi=None,
             init="mf", gamma0=1.0, a0=1.0, a_init=None, c_init=None, train_a=True, t_max=1.0,
             dt=0.1, simulation="gaussian", sim_step=0.1, batch=100,
             seed=0)                                   # present in real parameter sets, ignored
    p.update(given)
    return p


def simulate(d=30, seeds=3, seed=0, **given):
    return TwoLayerSimulator().simulate(params(**given), d, seeds, seed, Run("k"))


def poly(coef, q):
    return polynomial.polyval(q, np.concatenate(([0.0], coef)))


def unit(x):
    return x / np.linalg.norm(x)


def within(samples, exact, k=4.0):
    """|mean - exact| <= k standard errors, and the standard error itself."""
    se = samples.std(ddof=1) / math.sqrt(len(samples))
    return abs(samples.mean() - exact) <= k * se, se


def test_tensor_covariances_by_sampling():
    """E[G(w) G(w')] = h(<w,w'>), E[G(w) phi^g] = phi_hat(<w,u*>), Var phi^g = ||phi||^2, over
    n = 40000 iid samples mu of a degree-3 model (negative control: h(-q) is rejected)."""
    h, phi = np.array([0.3, 0.5, 0.2]), np.array([0.4, -0.2, 0.1])
    rng = np.random.default_rng(11)
    d = 4
    u = unit(rng.standard_normal(d))
    w = unit(rng.standard_normal(d))
    w2 = unit(0.6 * w + 0.8 * unit(rng.standard_normal(d)))
    model = GaussianModel.sample(h, phi, u, 40000, 0.0, rng)
    G = model.field(np.array([w, w2]))[0]
    q = w @ w2
    ok, se = within(G[:, 0] * G[:, 1], poly(h, q))
    assert ok
    assert abs((G[:, 0] * G[:, 1]).mean() - poly(h, -q)) > 10 * se          # negative control
    assert within(G[:, 0] ** 2, poly(h, 1.0))[0]
    assert within(G[:, 1] * model.y, poly(phi, w2 @ u))[0]
    assert within(model.y ** 2, np.sum(phi**2 / h))[0]
    assert within(G[:, 0], 0.0)[0]


@pytest.mark.parametrize("kind", ["gaussian", "network"])
def test_gradients_against_finite_differences(kind):
    h, phi = np.array([0.4, 0.3, 0.3]), np.array([0.5, -0.2, 0.3])
    rng = np.random.default_rng(3)
    d, n, m = 5, 40, 3
    u = unit(rng.standard_normal(d))
    data = (GaussianModel if kind == "gaussian" else Network).sample(h, phi, u, n, 0.3, rng)
    a, W = rng.standard_normal(m), rng.standard_normal((m, d))

    def loss(a, W):
        return 0.5 * np.mean(data.gradients(a, W)[0] ** 2)

    _, ga, gW = data.gradients(a, W)
    eps = 1e-6
    fd_a = [(loss(a + eps * e, W) - loss(a - eps * e, W)) / (2 * eps) for e in np.eye(m)]
    fd_W = [[(loss(a, W + eps * E) - loss(a, W - eps * E)) / (2 * eps)
             for E in np.eye(m * d)[k].reshape(1, m, d)] for k in range(m * d)]
    assert np.allclose(ga, fd_a, rtol=1e-6, atol=1e-8)
    assert np.allclose(gW, np.array(fd_W).reshape(m, d), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("c0", [np.eye(3), np.array(SETTING1_C, float).reshape(4, 4),
                                np.array([[1, 0.5, -0.5], [0.5, 1, -1], [-0.5, -1, 1]])])
def test_initial_weights_have_the_gram_matrix(c0):
    """W(0) W(0)^T = c0 to round-off, also for singular Grams; u* unit and orthogonal."""
    W, u = initial_weights(c0, 20, np.random.default_rng(5))
    assert np.allclose(W @ W.T, c0, rtol=0, atol=1e-13)
    assert np.allclose(W @ u, 0, rtol=0, atol=1e-14) and u @ u == pytest.approx(1, abs=1e-14)
    if c0.shape == (4, 4):
        assert np.allclose(W[0], W[2], atol=1e-13) and np.allclose(W[1], W[3], atol=1e-13)


@pytest.mark.parametrize("simulation,target,phi", [("gaussian", "noise", None),
                                                   ("gaussian", "single-index", None),
                                                   ("gd", "single-index", None),
                                                   ("gd", "single-index", (0.4,))])
def test_initial_laws(simulation, target, phi):
    """t = 0, C0 = I, a_i = a0, v = 0: test_error = (tau^2 + ||phi||^2 + a0^2 h(1)/m)/2 exactly,
    E train_error the same, E nu = -(n/d) a0^2 h'(1)/m^2 (the DMFT's nu(0); negative control:
    the opposite sign is rejected), and the first step of a is eta_GD times the population
    drift: E a(eta) = a0 - eta (n/d) a0 h(1)/m^2 (negative control: without n/d)."""
    a0, tau, h, m, d, seeds = 1.5, 0.5, (0.5, 0.5), 3, 40, 64
    r = simulate(d=d, seeds=seeds, seed=1, a0=a0, tau=tau, h=h, m=m, target=target, phi=phi,
                 simulation=simulation, t_max=0.1, dt=0.1, sim_step=0.1)
    per = r.simulation["per_seed"]
    phi2 = 0.0 if target == "noise" else (sum(h) if phi is None else 0.4**2 / 0.5)
    e0 = 0.5 * (tau**2 + phi2 + a0**2 * sum(h) / m)
    assert np.allclose(per["test_error"][:, 0], e0, rtol=1e-13)
    assert within(per["train_error"][:, 0], e0)[0]
    n = r.simulation["n"]
    nu0 = -n / d * a0**2 * (0.5 + 2 * 0.5) / m**2
    ok, se = within(per["nu"][:, 0], nu0)
    assert ok and abs(per["nu"][:, 0].mean() + nu0) > 10 * se
    drift = 0.1 * a0 * sum(h) / m**2
    ok, se = within(per["a"][:, 1], a0 - n / d * drift)
    assert ok and abs(per["a"][:, 1].mean() - (a0 - drift)) > 4 * se
    assert np.allclose(per["v"][:, 0], 0, atol=1e-14) and np.all(per["cd0"][:, 0] == pytest.approx(1, abs=1e-13))
    assert np.all(per["gamma"] == pytest.approx(per["a"] / math.sqrt(m), rel=1e-12))  # a_i equal


@pytest.mark.parametrize("simulation", ["gaussian", "sgd"])
def test_sphere_and_initial_gram(simulation):
    """Setting-1 initial data (f = 0 at t = 0): |w_i(t)| = 1 at every recorded time
    (displacement = 2 - 2 cd0 holds iff it does), c0_i_j(0) = ctt_i_j(0) = c_init, and the
    per-neuron observables are present."""
    r = simulate(d=30, seeds=2, seed=2, m=4, a_init=(1, 1, -1, -1), c_init=SETTING1_C,
                 simulation=simulation, sim_step=0.1 if simulation == "gaussian" else 0.05,
                 batch=15, t_max=2.0, h=(0.3, 0.5))
    per = r.simulation["per_seed"]
    assert np.allclose(per["displacement"], 2 - 2 * per["cd0"], rtol=0, atol=1e-12)
    assert per["displacement"][:, -1].min() > 1e-3
    c = np.array(SETTING1_C, float).reshape(4, 4)
    for i in range(4):
        assert np.all(per[f"a_{i + 1}"][:, 0] == c.sum(0)[i] * 0 + (1, 1, -1, -1)[i])
        for j in range(4):
            assert np.allclose(per[f"c0_{i + 1}_{j + 1}"][:, 0], c[i, j], atol=1e-13)
            if i < j:
                assert np.allclose(per[f"ctt_{i + 1}_{j + 1}"][:, 0], c[i, j], atol=1e-13)
    assert "ctt_2_1" not in per and "ctt_1_1" not in per
    assert np.allclose(per["test_error"][:, 0], 0.5 * 0.25, rtol=1e-12)  # f = 0: tau^2/2


def test_setting1_symmetries():
    """Pure noise, a(0) = (1, 1, -1, -1), w1 = w3, w2 = w4: the law is invariant under
    (1,3) <-> (2,4) and under (a, y) -> (-a, -y) with 1 <-> 3, 2 <-> 4, so E a_1 = E a_2 =
    -E a_3 and E ctt_1_3 = E ctt_2_4, while a_1(t) itself moves."""
    r = simulate(d=40, seeds=48, seed=3, m=4, tau=1.0, h=(0.1, 0.5), a_init=(1, 1, -1, -1),
                 c_init=SETTING1_C, t_max=4.0, dt=0.5)
    per = r.simulation["per_seed"]
    for x, y in (("a_1", "a_2"), ("ctt_1_3", "ctt_2_4"), ("c0_1_1", "c0_4_4")):
        assert within(per[x][:, -1] - per[y][:, -1], 0.0)[0], (x, y)
    assert within(per["a_1"][:, -1] + per["a_3"][:, -1], 0.0)[0]
    ok, se = within(per["a_1"][:, -1], 1.0)
    assert not ok                                   # the dynamics does move a_1


def test_linear_h_gaussian_model_is_the_network():
    """h = (h_1,): the degree-1 tensors are drawn like X and sigma, phi are linear, so the
    Gaussian model and the real network give the same trajectories sample by sample (negative
    control: with a quadratic term they differ)."""
    kw = dict(d=25, seeds=3, seed=4, m=3, target="single-index", phi=(0.5,), a_init=(1.0, -0.5, 0.3),
              c_init=(1, 0.3, 0, 0.3, 1, -0.2, 0, -0.2, 1), t_max=2.0, dt=0.2, sim_step=0.05)
    g = simulate(h=(0.7,), simulation="gaussian", **kw).simulation["per_seed"]
    n = simulate(h=(0.7,), simulation="gd", **kw).simulation["per_seed"]
    assert set(g) == set(n)
    for name in g:
        assert np.allclose(g[name], n[name], rtol=1e-10, atol=1e-12), name
    assert np.ptp(g["train_error"][0]) > 0.05
    g2 = simulate(h=(0.7, 0.3), simulation="gaussian", **kw).simulation["per_seed"]
    n2 = simulate(h=(0.7, 0.3), simulation="gd", **kw).simulation["per_seed"]
    assert not np.allclose(g2["train_error"][:, 1:], n2["train_error"][:, 1:], rtol=1e-3)


def test_full_batch_sgd_is_gd_with_the_time_map():
    """SGD with batch = n, lr = 0.1 equals full-batch GD with eta_GD = lr d/n = 0.05 at the same
    times t = steps lr d/n (negative control: eta_GD = lr, the map without d/n, differs)."""
    kw = dict(d=40, seeds=2, seed=6, alpha_bar=2.0, target="single-index", h=(0.6, 0.4), t_max=1.0)
    sgd = simulate(simulation="sgd", sim_step=0.1, batch=80, **kw)
    gd = simulate(simulation="gd", sim_step=0.05, **kw)
    assert sgd.simulation["time_step"] == pytest.approx(0.05) and sgd.simulation["steps"] == 20
    assert sgd.simulation["max_time_offset"] < 1e-12
    for name in gd.simulation["per_seed"]:
        assert np.allclose(sgd.simulation["per_seed"][name], gd.simulation["per_seed"][name],
                           rtol=1e-10, atol=1e-12), name
    wrong = simulate(simulation="gd", sim_step=0.1, **kw)
    assert not np.allclose(sgd["train_error"][1:], wrong["train_error"][1:], rtol=1e-3)


def test_sgd_batches_and_record_offset():
    stream = two_layer.batch_stream(10, 4, np.random.default_rng(0))
    batches = [next(stream) for _ in range(5)]           # 20 indices = two passes
    assert all(len(b) == 4 for b in batches)
    assert np.array_equal(np.bincount(np.concatenate(batches)), np.full(10, 2))
    assert len(set(np.concatenate(batches[:2]).tolist())) == 8     # no repeat within a pass
    # Fig. 4 sizes: step lr d/n = 0.1 * 200/960; dt = 0.2 is not a multiple: closest step
    r = simulate(d=200, seeds=2, m=16, alpha=0.3, alpha_bar=None, simulation="sgd", sim_step=0.1,
                 dt=0.2, t_max=0.6, target="single-index", h=(0.9, 0, 1 / 6))
    s = r.simulation
    assert s["n"] == 960 and s["time_step"] == pytest.approx(0.1 * 200 / 960)
    assert 0 < s["max_time_offset"] <= s["time_step"] / 2 + 1e-15
    assert s["loss"].startswith("(1/2|B|)") and s["alpha"] == pytest.approx(0.3)


def test_population_risk_against_monte_carlo():
    """(J.10) for the real network with a degree-3 sigma and teacher against a test set of 4e5
    samples (negative control: dropping the cubic part of h is rejected)."""
    h, phi, tau = np.array([0.5, 0.3, 0.4]), np.array([0.4, 0.2, -0.3]), 0.4
    rng = np.random.default_rng(8)
    d, m = 6, 3
    u = unit(rng.standard_normal(d))
    W = np.array([unit(x) for x in rng.standard_normal((m, d)) + 2 * u])
    a = np.array([1.5, -0.7, 2.0])
    test = Network.sample(h, phi, u, 400000, tau, rng)
    sq = 0.5 * test.gradients(a, W)[0] ** 2
    s = two_layer.Setup("gd", m, d, 1, tau, h, phi, float(np.sum(phi**2 / h)), a, np.eye(m), True,
                        0.1, 1, np.zeros(1, int), False)
    ok, se = within(sq, population_risk(a, W, u, s))
    assert ok
    s.h = h[:2]
    assert abs(sq.mean() - population_risk(a, W, u, s)) > 10 * se


def test_reproducible():
    kw = dict(d=30, seeds=2, seed=7, simulation="sgd", sim_step=0.05, batch=10, target="single-index")
    a, b = simulate(**kw), simulate(**kw)
    for name in a.simulation["per_seed"]:
        assert np.array_equal(a.simulation["per_seed"][name], b.simulation["per_seed"][name]), name
    assert not np.array_equal(a["train_error"], simulate(**{**kw, "seed": 8})["train_error"])
    assert a.solver["method"] == "projected-sgd-network"
    assert np.allclose(a.t, 0.1 * np.arange(11))


@pytest.mark.parametrize("given,name", [
    (dict(sim_step=0.03), "'sim_step'"),                                      # does not divide dt
    (dict(simulation="sgd", sim_step=1.0, batch=10), "'sim_step'"),                    # step lr d/n > dt
    (dict(h=(0.1, 0.2, 0.3), d=1000), "'h'"),                                 # 16 TB of tensors
    (dict(simulation="sgd", batch=1000), "'batch'"),
    (dict(d=3), "'d'"),
    (dict(alpha_bar=0.01), "'alpha"),                                       # n = 0
    (dict(simulation="langevin"), "'simulation'"),
])
def test_invalid_input(given, name):
    """The simulator's own conditions (the model's, on a_init, c_init, phi, alpha, are checked by
    TwoLayer.check before dmft.simulate calls the simulator)."""
    d = given.pop("d", 30)
    with pytest.raises(ParameterError, match=name):
        simulate(d=d, **given)
