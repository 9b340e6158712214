"""Second-order marching of closed causal two-time equations on a (compressed) history.

Equations of the form

  d X_f(t, t') / dt = F_f[X](t, t')   for t > t',   X_f(t, t) = diag_f,

(f = 0..nF-1 fields, e.g. a correlation C and a response R; ``diag_f`` is the value on, or the
limit just below, the diagonal) are stepped along t with a uniform step dt by Heun's
predictor-corrector (second order): row t_i+1 = row t_i + dt/2 (F at t_i + F at the predicted
t_i+1).  The past is held on a set of kept times tau_0 = 0 < tau_1 < ... < tau_{L-1} = t (the
*history*); a row is stored only at kept times and only on kept columns.

Memory integrals are computed from *cell integrals*.  For every field, besides the point values
``X[f, a, b] = X_f(tau_a, tau_b)`` (b <= a), the history holds, for cell k = [tau_k, tau_k+1]
with midpoint m_k, the integral (``[0]``) and first moment about m_k (``[1]``)

  H[:, f, a, k]  = int_cell X_f(tau_a, s) (1, s - m_k) ds   (k < a, along a row), and
  VT[:, f, b, k] = int_cell X_f(s, tau_b) (1, s - m_k) ds   (k >= b, along a column),

computed with X linear on the cell when the cell is created (cells are created at the leading
edge, with width dt) and combined exactly when cells merge.  A model's kernel integrates a
product g(s) X_f(s, tau_b) as  sum_k [mean(g) * integral + slope(g) * moment]  with g linear
between the cell's ends: exact for linear g and X on fine cells, and on a merged cell exact up
to the curvature of the slow factor g, however fast X_f varies inside it (the relaxation just
after every past diagonal).  This is the idea of Kim & Latz's time doubling (block-integrated
quantities), with a free-form grid instead of doubling.

Compression (``eps > 0``): every ``PRUNE_EVERY`` steps a kept time tau_m is dropped when the
merged cell around it, [tau_prev, tau_next], is no wider than
eps * min(tau_prev, t - tau_next): the history stays dense near s = 0 and near the current
time and is geometric (ratio ~ 1 + eps) in between, so L grows like (2/eps) log(t/dt) and a
step costs O(L^2) instead of O(t^2/dt^2).  ``eps = 0`` keeps every time: the uniform scheme.
Times listed in ``track`` are never dropped and X at them is recorded at every step (e.g. C(t, t_w)).

The model supplies a numba kernel ``rates(r, tau, X, H, VT, Y, params, out, out_diag,
out_state, scalars)`` that fills ``out[f, b]`` = F_f(tau_r, tau_b) for b = 0..r from rows <= r,
``scalars`` (one-time quantities of row r that are not integrated, e.g. mu(t) and the energy)
and, when the history has them, ``out_diag[f]`` = d X_f(t,t)/dt for the fields whose diagonal
evolves (``free_diag``) and ``out_state`` = dY/dt for the one-time state Y(t) (e.g. a
second-layer weight), which is kept on the kept times as ``Y[a]`` and stepped by Heun too.
Row r's own point values and H[:, r, :] are filled before the call; VT of cell r-1 too.

Fields defined by an equation at fixed t instead of a rate (e.g. a resolvent solving a Volterra
equation in the row) are *algebraic*: an optional numba kernel ``complete(r, tau, X, H, VT, Y,
params)`` writes their row r (all columns b <= r, diagonal included) from the other fields' row r
and from earlier rows; it runs after each predictor and corrector row, before that row's cells.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .divergence import OVERFLOW, bounded
from .run import Run, deferred_interrupt

PRUNE_EVERY = 16


@njit(cache=True)
def fill_cells(X, H, VT, tau, r):
    """Row r's cells H[:, :, r, k], k < r, and the newest cell [tau_{r-1}, tau_r] of every column,
    VT[:, :, b, r-1], b < r, with X linear on the cell: integral w (X_a + X_b)/2 and first moment
    about the midpoint w^2 (X_b - X_a)/12."""
    nf = X.shape[0]
    for f in range(nf):
        for k in range(r):
            w = tau[k + 1] - tau[k]
            H[0, f, r, k] = 0.5 * w * (X[f, r, k] + X[f, r, k + 1])
            H[1, f, r, k] = w * w / 12.0 * (X[f, r, k + 1] - X[f, r, k])
        if r > 0:
            w = tau[r] - tau[r - 1]
            for b in range(r):
                VT[0, f, b, r - 1] = 0.5 * w * (X[f, r - 1, b] + X[f, r, b])
                VT[1, f, b, r - 1] = w * w / 12.0 * (X[f, r, b] - X[f, r - 1, b])


@njit(cache=True)
def linear_cells(g, tau, r):
    """Mean and slope on every cell k < r of g known at the kept times tau_0..tau_r and linear
    between them: the slow factor of the cell-integral quadrature (arrays of length max(r, 1))."""
    n = max(r, 1)
    mean = np.empty(n)
    slope = np.empty(n)
    for k in range(r):
        mean[k] = 0.5 * (g[k] + g[k + 1])
        slope[k] = (g[k + 1] - g[k]) / (tau[k + 1] - tau[k])
    return mean, slope


@njit(cache=True)
def prune_mask(tau, L, t_now, eps, protected, keep):
    """Greedy choice of the kept times (see the module docstring); returns the new L."""
    keep[:L] = True
    prev = 0
    count = 1
    for m in range(1, L - 1):
        nxt = m + 1
        allowed = eps * min(tau[prev], t_now - tau[nxt])
        if not protected[m] and tau[nxt] - tau[prev] <= allowed:
            keep[m] = False
        else:
            prev = m
            count += 1
    return count + 1


@njit(cache=True)
def _merge(cells, moments, first, last, cell_of, mid_old, mid_new, out_cells, out_moments):
    """Sum old cells first..last-1 into their new cells; moments move to the new midpoints."""
    for k in range(first, last):
        j = cell_of[k]
        out_cells[j] += cells[k]
        out_moments[j] += moments[k] + (mid_old[k] - mid_new[j]) * cells[k]


@njit(cache=True)
def compact(X, H, VT, Y, tau, protected, keep, L):
    """Drop the times with keep[m] False: rows and columns of X and rows of the one-time state Y
    go, cells merge in H and VT (integrals add, first moments add after moving to the merged
    cell's midpoint: exact).

    In place; rows are processed in increasing order and each new index is <= its old one."""
    nf = X.shape[0]
    new_index = np.empty(L, np.int64)
    cell_of = np.empty(L, np.int64)  # new cell holding old cell k = [tau_k, tau_k+1]
    kept_tau = np.empty(L)
    n = 0
    for m in range(L):
        if keep[m]:
            new_index[m] = n
            kept_tau[n] = tau[m]
            n += 1
        cell_of[m] = n - 1
    mid_old = 0.5 * (tau[: L - 1] + tau[1:L])
    mid_new = 0.5 * (kept_tau[: n - 1] + kept_tau[1:n])
    row = np.empty(L)
    cells = np.empty(L)
    moments = np.empty(L)
    for a in range(L):
        if not keep[a]:
            continue
        a2 = new_index[a]
        for f in range(nf):
            for b in range(a + 1):
                if keep[b]:
                    row[new_index[b]] = X[f, a, b]
            for b in range(a2 + 1):
                X[f, a2, b] = row[b]
            cells[:n] = 0.0
            moments[:n] = 0.0
            _merge(H[0, f, a], H[1, f, a], 0, a, cell_of, mid_old, mid_new, cells, moments)
            H[0, f, a2, :a2] = cells[:a2]
            H[1, f, a2, :a2] = moments[:a2]
            cells[:n] = 0.0
            moments[:n] = 0.0
            _merge(VT[0, f, a], VT[1, f, a], a, L - 1, cell_of, mid_old, mid_new, cells, moments)
            VT[0, f, a2, a2:n - 1] = cells[a2:n - 1]
            VT[1, f, a2, a2:n - 1] = moments[a2:n - 1]
        protected[a2] = protected[a]
        Y[a2] = Y[a]
    tau[:n] = kept_tau[:n]
    return n


@dataclass
class HistoryOutcome:
    steps: int                 # completed steps (rows after the first)
    diverged: bool
    message: str = ""
    t: np.ndarray = field(default_factory=lambda: np.zeros(0))          # every step's time
    scalars: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (steps+1, n_scalars)
    tracked: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))  # (steps+1, nF, n_track)
    state: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))     # (steps+1, n_state): Y(t)
    diag: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))      # (steps+1, nF): X_f(t, t)
    max_points: int = 0        # largest number of kept times during the run


class History:
    """Kept times, the point values and cell integrals of nF two-time fields on them, and a
    one-time state Y (n_state values per kept time).

    ``diag``: X_f(0, 0), and X_f(t, t) at all t unless ``free_diag[f]`` (then it evolves with the
    rate ``out_diag[f]``); ``state0``: Y(0)."""

    def __init__(self, n_fields: int, capacity: int, diag: tuple[float, ...],
                 free_diag: tuple[bool, ...] | None = None, state0: tuple[float, ...] = ()):
        self.capacity = capacity
        self.diag = np.asarray(diag, dtype=float)
        self.free_diag = np.zeros(n_fields, dtype=np.bool_) if free_diag is None else np.asarray(free_diag, dtype=np.bool_)
        self.X = np.zeros((n_fields, capacity, capacity))
        self.H = np.zeros((2, n_fields, capacity, capacity))
        self.VT = np.zeros_like(self.H)
        self.Y = np.zeros((capacity, len(state0)))
        self.tau = np.zeros(capacity)
        self.protected = np.zeros(capacity, dtype=np.bool_)
        self.L = 1
        self.X[:, 0, 0] = self.diag
        self.Y[0] = state0

    def state(self) -> dict:
        L = self.L
        return {"X": self.X[:, :L, :L], "H": self.H[:, :, :L, :L], "VT": self.VT[:, :, :L, :L],
                "Y": self.Y[:L], "tau": self.tau[:L], "protected": self.protected[:L]}

    def load(self, saved: dict) -> None:
        L = len(saved["tau"])
        self.L = L
        self.X[:, :L, :L] = saved["X"]
        self.H[:, :, :L, :L] = saved["H"]
        self.VT[:, :, :L, :L] = saved["VT"]
        self.Y[:L] = saved["Y"]
        self.tau[:L] = saved["tau"]
        self.protected[:L] = saved["protected"]

    def lower(self, f: int) -> np.ndarray:
        """Field f on the kept times as a full (L, L) array X[a, b] = X_f(tau_a, tau_b), b <= a
        (zero above the diagonal)."""
        return np.tril(self.X[f, : self.L, : self.L]).copy()


def history_capacity(steps: int, dt: float, eps: float, n_track: int) -> int:
    """Upper bound on the kept times of ``steps`` steps of the long-time scheme (see dmft.history)."""
    if eps == 0:
        return steps + 2
    dense = 1.0 / eps + 1
    geometric = math.log(max(steps, 2.0)) / math.log1p(eps) + 1
    return min(steps + 2, int(2 * (dense + geometric)) + 2 * PRUNE_EVERY + n_track + 16)


def march_history(rates, params: np.ndarray, history: History, n_steps: int, dt: float,
                  n_scalars: int, run: Run, eps: float = 0.0, track: tuple[int, ...] = (),
                  complete=None) -> HistoryOutcome:
    """Take ``n_steps`` Heun steps of size dt from the history's last row (see module docstring).

    ``track``: step indices whose times are kept forever; X at them is recorded every step
    (NaN before they exist).  ``complete``: the kernel of the algebraic fields, if any.  Stops at
    the first non-finite or overflowing row (the rows before it are kept).  Checkpoints through
    ``run`` and resumes from it.
    """
    h = history
    nf, ny = h.X.shape[0], h.Y.shape[1]
    free = h.free_diag
    out0, out1 = np.zeros((nf, h.capacity)), np.zeros((nf, h.capacity))
    diag0, diag1 = np.zeros(nf), np.zeros(nf)
    dy0, dy1 = np.zeros(ny), np.zeros(ny)
    scalars = np.full((n_steps + 1, n_scalars), np.nan)
    tracked = np.full((n_steps + 1, nf, len(track)), np.nan)
    states = np.full((n_steps + 1, ny), np.nan)
    diags = np.full((n_steps + 1, nf), np.nan)
    track_col = np.full(len(track), -1)   # current column of each tracked time
    keep = np.zeros(h.capacity, dtype=np.bool_)
    sc = np.zeros(n_scalars)
    start, max_points = 0, 1
    restored = run.restore()
    if restored is not None:
        start, saved = restored
        h.load({k: saved[k] for k in ("X", "H", "VT", "Y", "tau", "protected")})
        for name, array in (("scalars", scalars), ("tracked", tracked), ("states", states), ("diags", diags)):
            array[:start + 1] = saved[name]
        track_col[:] = saved["track_col"]
        max_points = int(saved["max_points"])
    elif complete is not None:
        complete(0, h.tau, h.X, h.H, h.VT, h.Y, params)

    def record(i):
        r = h.L - 1
        rates(r, h.tau, h.X, h.H, h.VT, h.Y, params, out0, diag0, dy0, sc)
        scalars[i], states[i], diags[i] = sc, h.Y[r], h.X[:, r, r]
        for q, col in enumerate(track_col):
            if col >= 0:
                tracked[i, :, q] = h.X[:, r, col]

    def outcome(steps, diverged=False, message=""):
        return HistoryOutcome(steps, diverged, message, t=dt * np.arange(steps + 1),
                              scalars=scalars[:steps + 1], tracked=tracked[:steps + 1],
                              max_points=max_points, state=states[:steps + 1], diag=diags[:steps + 1])

    def set_row(new, r, weight_old, weight_new):
        """Row new (and Y, the diagonal) = row r + dt (weight_old rates at r + weight_new rates at new)."""
        h.X[:, new, : r + 1] = h.X[:, r, : r + 1] + dt * (weight_old * out0[:, : r + 1] + weight_new * out1[:, : r + 1])
        h.X[:, new, new] = np.where(free, h.X[:, r, r] + dt * (weight_old * diag0 + weight_new * diag1), h.diag)
        h.Y[new] = h.Y[r] + dt * (weight_old * dy0 + weight_new * dy1)
        if complete is not None:
            complete(new, h.tau, h.X, h.H, h.VT, h.Y, params)
        fill_cells(h.X, h.H, h.VT, h.tau, new)

    for q, i_track in enumerate(track):
        if i_track == 0:
            track_col[q] = 0
            h.protected[0] = True

    def save(done, force=False):
        run.checkpoint(done, {**h.state(), "scalars": scalars[:done + 1], "tracked": tracked[:done + 1],
                              "states": states[:done + 1], "diags": diags[:done + 1],
                              "track_col": track_col, "max_points": max_points}, force=force)

    record(start)
    with run.progress(n_steps, start, unit="step") as bar, deferred_interrupt() as interrupt:
        for step in range(start, n_steps):
            r = h.L - 1
            if r + 1 >= h.capacity:
                raise RuntimeError(f"history capacity {h.capacity} exceeded at t={step * dt:g}")
            new = r + 1
            h.tau[new] = h.tau[r] + dt
            h.protected[new] = False
            set_row(new, r, 1.0, 0.0)                                   # predictor
            rates(new, h.tau, h.X, h.H, h.VT, h.Y, params, out1, diag1, dy1, sc)
            set_row(new, r, 0.5, 0.5)                                   # corrector
            if not (bounded(h.X[:, new, : new + 1]) and bounded(h.Y[new])):
                return outcome(step, True, f"diverged at t={(step + 1) * dt:g}: NaN or overflow "
                                           f"(|x| > {OVERFLOW:g}); the steps before it are kept")
            h.L = new + 1
            for q, i_track in enumerate(track):
                if i_track == step + 1:
                    track_col[q] = new
                    h.protected[new] = True
            max_points = max(max_points, h.L)
            if eps > 0 and (step + 1) % PRUNE_EVERY == 0:
                L_new = prune_mask(h.tau, h.L, h.tau[h.L - 1], eps, h.protected, keep)
                if L_new < h.L:
                    index = np.cumsum(keep[: h.L]) - 1
                    track_col[:] = np.where(track_col >= 0, index[np.maximum(track_col, 0)], -1)
                    h.L = compact(h.X, h.H, h.VT, h.Y, h.tau, h.protected, keep, h.L)
            record(step + 1)
            bar.update(1)
            if interrupt.requested:
                save(step + 1, force=True)
                raise KeyboardInterrupt
            save(step + 1)
    return outcome(n_steps)
