"""dmft.history: the Heun march on a (compressed) history, on a toy kernel with a known
solution, divergence handling, and exactness of cell merging."""
import numpy as np
from numba import njit

from dmft.history import History, compact, march_history, prune_mask
from dmft.run import Run


@njit(cache=True)
def relaxation(r, tau, X, H, VT, Y, params, out, out_diag, out_state, scalars):
    """dX(t,s)/dt = -lam X(t,s) + int_s^t X(t,u) X(u,s) du (a memory kernel), scalars = lam.

    With X(t,t) = 1: X = f(t - s) with f' = -lam f + (f * f), whose Laplace transform solves
    z F - 1 = -lam F + F^2."""
    lam = params[0]
    for b in range(r + 1):
        acc = 0.0
        for k in range(b, r):
            slope = (X[0, r, k + 1] - X[0, r, k]) / (tau[k + 1] - tau[k])
            acc += 0.5 * (X[0, r, k] + X[0, r, k + 1]) * VT[0, 0, b, k] + slope * VT[1, 0, b, k]
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
    assert np.all((orders > 1.9) & (orders < 2.25)), (errors, orders)  # measured 2.14, 2.07


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
    for cells in (h.H, h.VT):
        cells[:, 0, :L, :L] = rng.normal(size=(2, L, L))
    X, H, VT, tau = h.X.copy(), h.H.copy(), h.VT.copy(), h.tau.copy()
    protected = np.zeros(L, dtype=np.bool_)
    protected[7] = True
    keep = np.zeros(L, dtype=np.bool_)
    n = prune_mask(h.tau, L, tau[L - 1] + 100.0, 0.5, protected, keep)
    assert 2 < n < L and keep[0] and keep[L - 1] and keep[7] and n == keep.sum()
    assert compact(h.X, h.H, h.VT, h.Y, h.tau, protected, keep, L) == n
    kept = np.flatnonzero(keep)
    np.testing.assert_array_equal(h.tau[:n], tau[kept])
    np.testing.assert_array_equal(h.X[0, :n, :n], np.tril(X[0][np.ix_(kept, kept)]))
    mid = 0.5 * (tau[:-1] + tau[1:])

    def merged(cells, first, last, centre):
        """Integral and first moment about ``centre`` of old cells first..last-1."""
        return cells[0, first:last].sum(), (cells[1, first:last] + (mid[first:last] - centre) * cells[0, first:last]).sum()

    for a2, a in enumerate(kept):
        for c2 in range(n - 1):
            lo, hi = kept[c2], kept[c2 + 1]
            centre = 0.5 * (tau[lo] + tau[hi])
            if c2 < a2:      # a cell of row a
                want = merged(H[:, 0, a], lo, hi, centre)
                got = h.H[:, 0, a2, c2]
            else:            # a cell above column a
                want = merged(VT[:, 0, a], lo, hi, centre)
                got = h.VT[:, 0, a2, c2]
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
