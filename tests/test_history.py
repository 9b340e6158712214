"""dmft.history: the Heun march on a (compressed) history, on a toy kernel with a known
solution, divergence handling, and exactness of cell merging."""
import numpy as np
from numba import njit

from dmft.history import History, compact, march_history, prune_mask
from dmft.run import Run


@njit(cache=True)
def relaxation(r, tau, X, H, VT, params, out, scalars):
    """dX(t,s)/dt = -lam X(t,s) + int_s^t X(t,u) X(u,s) du (a memory kernel), scalars = lam.

    With X(t,t) = 1: X = f(t - s) with f' = -lam f + (f * f), whose Laplace transform solves
    z F - 1 = -lam F + F^2."""
    lam = params[0]
    for b in range(r + 1):
        acc = 0.0
        for k in range(b, r):
            acc += 0.5 * (X[0, r, k] + X[0, r, k + 1]) * VT[0, b, k]
        out[0, b] = -lam * X[0, r, b] + acc
    scalars[0] = lam


def _run(lam, dt, t_max, eps=0.0, track=()):
    h = History(1, 4000, diag=(1.0,))
    out = march_history(relaxation, np.array([lam]), h, int(round(t_max / dt)), dt, 1,
                        Run("toy"), eps=eps, track=track)
    return h, out


def _exact(lam, t):
    """f(t) for F = (z + lam - sqrt((z + lam)^2 - 4)) / 2: f(t) = exp(-lam t) I_1(2t)/t."""
    from scipy.special import ive
    t = np.asarray(t, dtype=float)
    safe = np.where(t > 0, t, 1.0)
    return np.where(t > 0, np.exp(-(lam - 2) * t) * ive(1, 2 * safe) / safe, 1.0)


def test_heun_march_is_second_order_on_a_memory_equation():
    errors = []
    for dt in (0.1, 0.05, 0.025):
        h, out = _run(3.0, dt, 4.0, track=(0,))
        errors.append(np.max(np.abs(out.tracked[:, 0, 0] - _exact(3.0, out.t))))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 1.9) & (orders < 2.25)), (errors, orders)


def test_compressed_history_converges_to_the_uniform_one():
    _, uniform = _run(3.0, 0.02, 20.0, track=(0,))
    errs = []
    for eps in (0.2, 0.1, 0.05):
        h, out = _run(3.0, 0.02, 20.0, eps=eps, track=(0,))
        assert out.max_points < 0.5 * len(out.t)
        errs.append(np.max(np.abs(out.tracked[:, 0, 0] - uniform.tracked[:, 0, 0])))
    assert errs[2] < errs[0] / 4 and errs[2] < 1e-4, errs


def test_divergence_stops_and_keeps_the_finite_steps():
    h, out = _run(-400.0, 0.1, 50.0)
    assert out.diverged and "diverged at t=" in out.message
    assert 0 < out.steps < 500
    assert np.all(np.isfinite(out.scalars[: out.steps + 1]))
    assert h.L == out.steps + 1 and np.all(np.abs(h.X[0, : h.L, : h.L]) < 1e150)


def test_merging_cells_is_exact_and_keeps_point_values():
    rng = np.random.default_rng(1)
    L = 40
    h = History(1, L, diag=(1.0,))
    h.tau[:L] = np.cumsum(rng.uniform(0.1, 1.0, L)) - 0.1
    h.tau[0] = 0.0
    h.X[0, :L, :L] = np.tril(rng.normal(size=(L, L)))
    h.H[0, :L, :L] = np.tril(rng.normal(size=(L, L)), -1)
    h.VT[0, :L, :L] = np.triu(rng.normal(size=(L, L)))
    h.VT[0, :, L - 1] = 0.0
    X, H, VT, tau = h.X.copy(), h.H.copy(), h.VT.copy(), h.tau.copy()
    protected = np.zeros(L, dtype=np.bool_)
    protected[7] = True
    keep = np.zeros(L, dtype=np.bool_)
    n = prune_mask(h.tau, L, tau[L - 1] + 100.0, 0.5, protected, keep)
    assert 2 < n < L and keep[0] and keep[L - 1] and keep[7] and n == keep.sum()
    assert compact(h.X, h.H, h.VT, h.tau, protected, keep, L) == n
    kept = np.flatnonzero(keep)
    np.testing.assert_array_equal(h.tau[:n], tau[kept])
    np.testing.assert_array_equal(h.X[0, :n, :n], np.tril(X[0][np.ix_(kept, kept)]))
    # row integrals over [tau_b, tau_c] between kept points are unchanged by merging
    for a2, a in enumerate(kept):
        np.testing.assert_allclose(h.H[0, a2, :a2].sum(), H[0, a, :a].sum(), rtol=1e-12)
        np.testing.assert_allclose(h.VT[0, a2, a2:n - 1].sum(), VT[0, a, a:L - 1].sum(), rtol=1e-12)
        for c2 in range(a2):
            np.testing.assert_allclose(h.H[0, a2, c2], H[0, a, kept[c2]:kept[c2 + 1]].sum(), rtol=1e-12)
